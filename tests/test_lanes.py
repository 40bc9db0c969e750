"""The web app's lanes (``dcgan_tf.app.lanes``): a bounded queue in front of one worker thread.
A full lane raises Busy; a queued job that is cancelled (its client gone) never runs and gives
its place back at once. No model: the jobs are plain functions."""

import asyncio
import threading

import pytest

from dcgan_tf.app.lanes import Busy, Lane

WAIT = 30  # seconds a test waits for a thread before failing


def blocked_job(started: threading.Event, release: threading.Event, value):
    """A job that signals ``started``, waits for ``release`` and returns ``value``."""
    started.set()
    assert release.wait(WAIT)
    return value


async def until(condition) -> None:
    """Lets the event loop run until ``condition()`` holds (done-callbacks of cancelled futures
    run on a later turn of the loop)."""
    for _ in range(WAIT * 100):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


def test_a_full_lane_raises_busy_and_takes_jobs_again_once_they_are_done():
    async def scenario():
        lane = Lane("test", 2)
        started, release = threading.Event(), threading.Event()
        first = lane.submit(blocked_job, started, release, 1)
        second = lane.submit(lambda: 2)
        with pytest.raises(Busy, match="the test queue is full") as refused:
            lane.submit(lambda: 3)
        assert refused.value.retry_after >= 1 and lane.jobs == 2
        release.set()
        assert [await first, await second] == [1, 2]
        assert lane.jobs == 0
        assert await lane.run(lambda: 4) == 4
        lane.shutdown()
    asyncio.run(scenario())


def test_cancelled_queued_jobs_never_run_and_free_their_places():
    """A lane of 3 with one job running and two queued: cancelling the queued two (their
    clients gone) lets two new jobs in, where without the fix every later job got Busy."""
    async def scenario():
        lane = Lane("test", 3)
        started, release = threading.Event(), threading.Event()
        ran = []
        running = lane.submit(blocked_job, started, release, "running")
        assert await asyncio.to_thread(started.wait, WAIT)
        queued = [lane.submit(ran.append, name) for name in ("gone 1", "gone 2")]
        with pytest.raises(Busy):
            lane.submit(ran.append, "refused")
        for job in queued:
            job.cancel()
        await until(lambda: lane.jobs == 1)
        later = [lane.submit(lambda name=name: name) for name in ("new 1", "new 2")]
        release.set()
        assert [await running, *[await job for job in later]] == ["running", "new 1", "new 2"]
        assert ran == [] and all(job.cancelled() for job in queued)
        assert lane.jobs == 0
        lane.shutdown()
    asyncio.run(scenario())


def test_a_running_job_keeps_its_place_until_it_ends():
    """Cancelling a running job cannot stop its thread: its place is given back only when
    the function returns (the search's own flag stops it: see test_app_api)."""
    async def scenario():
        lane = Lane("test", 1)
        started, release = threading.Event(), threading.Event()
        running = lane.submit(blocked_job, started, release, None)
        assert await asyncio.to_thread(started.wait, WAIT)
        running.cancel()
        await asyncio.sleep(0.05)
        assert lane.jobs == 1
        with pytest.raises(Busy):
            lane.submit(lambda: None)
        release.set()
        await until(lambda: lane.jobs == 0)
        assert await lane.run(lambda: "next") == "next"
        lane.shutdown()
    asyncio.run(scenario())


def test_a_failing_job_gives_its_place_back():
    async def scenario():
        lane = Lane("test", 1)
        with pytest.raises(ZeroDivisionError):
            await lane.run(lambda: 1 / 0)
        assert lane.jobs == 0
        lane.shutdown()
    asyncio.run(scenario())


def test_a_lane_needs_room_for_one_job():
    with pytest.raises(ValueError, match="the preview lane needs a capacity >= 1, got 0"):
        Lane("preview", 0)
