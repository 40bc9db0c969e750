"""Training throughput: Keras ``fit()`` on the DCGAN versus a plain ``tf.function`` loop.

Both paths train the same architecture (64x64, widths 64, batch 64 by default) on the same
in-memory data; the plain loop is written independently of ``dcgan_tf.models.gan`` (same losses and
optimizers, no Keras trainer). Rounds alternate between the paths so machine noise hits both.
Prints images/s per path, the fit/loop ratio and the achieved GFLOP/s, where the FLOPs of one
training step are estimated from the layer shapes as 4 generator + 8 discriminator forward passes
per image (D step: G fwd + D fwd/bwd on real and fake; G step: G fwd/bwd + D fwd/bwd).

    python bench/train_throughput.py [--filters 64] [--batch 64] [--steps 10] [--rounds 2]
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from dcgan_tf.data import pipeline, synthetic  # noqa: E402
from dcgan_tf.models import gan, networks  # noqa: E402


def forward_flops(model: keras.Model) -> int:
    """FLOPs (2 per multiply-add) of one image through the model's dense and conv layers."""
    flops = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            flops += 2 * layer.kernel.shape[0] * layer.kernel.shape[1]
        elif isinstance(layer, keras.layers.Conv2DTranspose):
            height, width = layer.input.shape[1:3]  # every input pixel scatters a whole kernel
            flops += 2 * height * width * int(tf.size(layer.kernel))
        elif isinstance(layer, keras.layers.Conv2D):
            height, width = layer.output.shape[1:3]
            flops += 2 * height * width * int(tf.size(layer.kernel))
    return flops


def build(args):
    generator = networks.build_generator(100, args.size, args.filters, args.kernel)
    discriminator = networks.build_discriminator(args.size, args.filters, args.kernel)
    return generator, discriminator


def adam():
    return keras.optimizers.Adam(2e-4, beta_1=0.5)


class StepTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.times = []

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter())


def time_fit(model, dataset, steps) -> float:
    """Seconds per step over ``steps`` steps, after one untimed step."""
    timer = StepTimer()
    model.fit(dataset, epochs=1, steps_per_epoch=steps + 1, callbacks=[timer], verbose=0,
              shuffle=False)
    return (timer.times[-1] - timer.times[0]) / steps


def make_plain_step(generator, discriminator, batch):
    d_optimizer, g_optimizer = adam(), adam()
    d_optimizer.build(discriminator.trainable_variables)
    g_optimizer.build(generator.trainable_variables)

    @tf.function(jit_compile=False)
    def step(real_images):
        latents = tf.random.normal([batch, 100])
        with tf.GradientTape() as tape:
            real_logits = discriminator(real_images, training=True)
            fake_logits = discriminator(generator(latents, training=True), training=True)
            d_loss = tf.reduce_mean(tf.nn.softplus(-real_logits) + tf.nn.softplus(fake_logits))
        grads = tape.gradient(d_loss, discriminator.trainable_variables)
        d_optimizer.apply_gradients(zip(grads, discriminator.trainable_variables))
        latents = tf.random.normal([batch, 100])
        with tf.GradientTape() as tape:
            fake_logits = discriminator(generator(latents, training=True), training=True)
            g_loss = tf.reduce_mean(tf.nn.softplus(-fake_logits))
        grads = tape.gradient(g_loss, generator.trainable_variables)
        g_optimizer.apply_gradients(zip(grads, generator.trainable_variables))
        return d_loss, g_loss

    return step


def time_loop(step, iterator, steps) -> float:
    step(next(iterator))[0].numpy()  # untimed, like the fit path's first step
    start = time.perf_counter()
    for _ in range(steps):
        losses = step(next(iterator))
    losses[0].numpy()
    return (time.perf_counter() - start) / steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--filters", type=int, default=64)
    parser.add_argument("--kernel", type=int, default=4)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per round and path")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    faces = synthetic.faces(max(1024, 4 * args.batch), image_size=args.size)
    dataset = pipeline.training_dataset(faces, args.batch, seed=0)
    iterator = iter(dataset)

    generator, discriminator = build(args)
    model = gan.DCGAN(generator, discriminator)
    model.compile(d_optimizer=adam(), g_optimizer=adam())
    plain_step = make_plain_step(*build(args), args.batch)
    time_fit(model, dataset, 1)  # trace both paths before timing
    time_loop(plain_step, iterator, 1)

    fit_times, loop_times = [], []
    for _ in range(args.rounds):
        fit_times.append(time_fit(model, dataset, args.steps))
        loop_times.append(time_loop(plain_step, iterator, args.steps))
    fit_rate = args.batch / statistics.median(fit_times)
    loop_rate = args.batch / statistics.median(loop_times)
    step_flops = 4 * forward_flops(generator) + 8 * forward_flops(discriminator)
    print(f"{args.size}x{args.size}, widths {args.filters}, kernel {args.kernel}, batch "
          f"{args.batch}, {args.rounds} rounds x {args.steps} steps, "
          f"{tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()} threads")
    print(f"estimated training FLOPs per image: {step_flops / 1e9:.2f} GFLOP")
    print(f"fit():            {fit_rate:7.1f} images/s  {fit_rate * step_flops / 1e9:6.1f} GFLOP/s")
    loop_gflops = loop_rate * step_flops / 1e9
    print(f"tf.function loop: {loop_rate:7.1f} images/s  {loop_gflops:6.1f} GFLOP/s")
    print(f"fit / loop: {fit_rate / loop_rate:.3f}")


if __name__ == "__main__":
    main()
