"""Procedural face-like RGB images: the default dataset embedded in dcgan_tf.

``faces`` draws cartoon portraits framed like aligned face crops: the face fills most of
the frame, the eyes sit about 40 % from the top and the mouth about 75 %.  Every image
has its own background gradient, clothes, neck, head shape, skin tone, hair colour and
style (short cap, fringe, long hair, bald), ears, eyes (sclera, iris, pupil, highlight,
eyelid), brows, nose, mouth, optional glasses, directional lighting, a little pose
jitter and a small amount of pixel noise.  Shapes are drawn from signed distances with
anti-aliased edges, so the images are smooth at every size.

Geometry is expressed in *face units*: before the per-image pose (roll, scale,
translation) is applied the image spans [-1, 1] on both axes, x to the right and y
downwards.  Drawing in these units makes a face look the same at 32, 64 or 128 pixels.

Determinism: image ``i`` of stream ``seed`` depends only on ``(seed, i)``.  Its random
parameters come from a counter-based hash of ``(seed, i, k)`` and the pixel maths uses
only elementwise, correctly rounded operations (no reductions, no transcendental
functions), so an image is bit-identical whatever ``start``, ``count`` or chunking
produced it.

The module is pure numpy and vectorised over chunks of images.  For speed, every part is
drawn in a window that bounds it, on contiguous copies, and the per-pixel maths avoids
square roots and numpy operations that are slow with broadcast operands (``np.where``,
``np.copysign``, ``np.maximum`` with a scalar).
"""

import contextlib
import functools
import operator
from dataclasses import dataclass

import numpy as np

# The synthetic data set's size unless a caller asks for another (train.py --synthetic_images,
# pipeline.load_images): sized with TrainConfig's other defaults for a run of ~10 CPU minutes.
DEFAULT_FACES = 12800

_CHUNK_PIXELS = 64 * 64 * 64  # pixels rendered together; any value gives the same images
_N_UNIFORMS = 128  # random numbers drawn per image (at least as many as the parts use)
_NOISE = 3.0  # peak amplitude of the triangular pixel noise, in 8-bit levels

# Pose jitter limits (also used to bound the pixel window of every part).
_MAX_ROLL_SIN = 0.09  # sine of the largest roll angle (about 5 degrees)
_SCALE_RANGE = (0.92, 1.04)
_MAX_SHIFT = 0.04  # largest translation, in image half-widths

_SKIN_RAMP = np.array([  # light to dark; tones are interpolated uniformly along it
    (252, 228, 210), (244, 208, 180), (234, 190, 156), (222, 172, 134), (204, 150, 108),
    (180, 124, 86), (150, 100, 68), (118, 78, 52), (90, 58, 40), (66, 42, 30),
], np.float32)


@dataclass(frozen=True)
class _Palette:
    """Colours to draw from: rgb [P, 3] float32 in 0..255, cumulative probabilities [P]."""

    rgb: np.ndarray
    cumulative: np.ndarray


def _palette(*entries):
    """Builds a `_Palette` from (relative weight, (r, g, b)) entries."""
    weights = np.array([weight for weight, _ in entries], np.float64)
    return _Palette(np.array([rgb for _, rgb in entries], np.float32),
                    np.cumsum(weights) / weights.sum())


_HAIR = _palette(
    (22, (24, 20, 20)),  # black
    (20, (56, 38, 28)),  # dark brown
    (16, (98, 66, 42)),  # brown
    (8, (140, 100, 64)),  # light brown
    (10, (214, 180, 116)),  # blond
    (8, (174, 136, 82)),  # dark blond
    (6, (146, 60, 30)),  # auburn
    (3, (196, 104, 52)),  # ginger
    (5, (150, 148, 146)),  # grey
    (2, (208, 206, 200)),  # white
)
_IRIS = _palette(
    (30, (96, 58, 30)),  # brown
    (20, (58, 36, 22)),  # dark brown
    (12, (66, 112, 170)),  # blue
    (6, (120, 160, 200)),  # light blue
    (10, (74, 120, 70)),  # green
    (8, (118, 128, 136)),  # grey
    (14, (136, 104, 52)),  # hazel
)
_FRAMES = _palette(
    (30, (24, 24, 28)),  # black
    (15, (70, 46, 30)),  # brown
    (15, (124, 74, 36)),  # tortoiseshell
    (15, (172, 172, 178)),  # silver
    (10, (194, 154, 72)),  # gold
    (8, (150, 32, 38)),  # red
    (7, (38, 50, 112)),  # navy
)


HELD_OUT_SEED = 1_000_003  # a face stream no default training run (seed 0) draws from


def faces(count: int, *, seed: int = 0, start: int = 0, image_size: int = 64) -> np.ndarray:
    """Renders images ``start .. start + count - 1`` of the face stream ``seed``.

    Args:
        count: Number of images, >= 0.
        seed: Stream id, 0 <= seed < 2**64; different seeds give different faces.
        start: Index of the first image in the stream, 0 <= start < 2**56.
        image_size: Side of the square images in pixels, >= 16.

    Returns:
        uint8 array of shape [count, image_size, image_size, 3] with values in 0..255.

    Raises:
        ValueError: If an argument is out of range.
        TypeError: If an argument is not an integer.
    """
    count = _checked_int("count", count, 0)
    seed = _checked_int("seed", seed, 0, 2**64)
    start = _checked_int("start", start, 0, 2**56)
    image_size = _checked_int("image_size", image_size, 16)
    out = np.empty((count, image_size, image_size, 3), np.uint8)
    chunk = max(1, _CHUNK_PIXELS // image_size**2)
    _raise_allocator_thresholds()
    for offset in range(0, count, chunk):
        _render_chunk(seed, start + offset, out[offset:offset + chunk])
    return out


def _checked_int(name, value, minimum, limit=None):
    """Returns value as an int, raising if it is not an integer in [minimum, limit)."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {value!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if limit is not None and value >= limit:
        raise ValueError(f"{name} must be < {limit}, got {value}")
    return value


def _raise_allocator_thresholds():
    """Allocates and frees a 16 MiB block so that glibc raises its mmap and trim thresholds.

    Rendering creates many short-lived arrays of 0.1 to 3 MiB.  Under glibc's default
    thresholds each one is mapped afresh and page-faulted on first touch, which makes
    rendering 2-3x slower; glibc raises the thresholds by itself once a mapped block of
    that size is freed.  Harmless (a no-op) with other allocators.
    """
    np.empty(16 << 20, np.uint8)


def _render_chunk(seed, first, out):
    """Renders images first, first + 1, ... of stream seed into out [K, S, S, 3] uint8."""
    count, size = out.shape[0], out.shape[1]
    smp = _Sampler(_uniforms(seed, first, count))
    canvas = _Canvas(size, smp)
    face = _sample_face(smp)
    for draw in _PARTS:
        draw(canvas, face, smp)
    _apply_lighting(canvas, face, smp)
    canvas.rgb += _noise(smp, size) + 0.5  # + 0.5: round to nearest when truncating
    np.clip(canvas.rgb, 0, 255, out=canvas.rgb)
    np.copyto(out, canvas.rgb.transpose(0, 2, 3, 1), casting="unsafe")


# --------------------------------------------------------------------------------------
# Parameters


def _uniforms(seed, first, count):
    """Returns [count, _N_UNIFORMS] float64 uniforms in [0, 1) for images first, first + 1, ...

    A counter-based SplitMix64 stream: number k of image i is the finalised hash of
    splitmix(seed) + (i * _N_UNIFORMS + k + 1) * golden_gamma, so it depends only on
    (seed, i, k).  Creating a numpy Generator per image instead would take longer than
    rendering the image.
    """
    base = _splitmix(np.array([seed], np.uint64))
    image = np.arange(first, first + count, dtype=np.uint64)[:, None]
    counter = image * np.uint64(_N_UNIFORMS) + np.arange(1, _N_UNIFORMS + 1, dtype=np.uint64)
    bits = _splitmix(base + counter * np.uint64(0x9E3779B97F4A7C15))
    return (bits >> np.uint64(11)) * 2.0**-53


def _splitmix(z):
    """SplitMix64 finaliser: a well-mixed uint64 hash of each element of z (uint64 array)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


class _Sampler:
    """Hands out the columns of an [N, K] matrix of uniforms as per-image parameters.

    Every draw consumes the next column(s), so parameters are assigned in a fixed order
    and each image's values depend only on its own row.  Scalars come out as [N, 1, 1]
    float32 arrays and colours as [N, 3, 1, 1], ready to broadcast against pixels.
    """

    def __init__(self, uniforms):
        self._exact = uniforms
        self._fast = uniforms.astype(np.float32)[:, :, None, None]
        self._next = 0

    def _columns(self, n):
        first = self._next
        self._next += n
        if self._next > _N_UNIFORMS:
            raise RuntimeError("_N_UNIFORMS is too small for the parts being drawn")
        return first

    def uniform(self, low, high):
        """Returns [N, 1, 1] values uniform in [low, high]."""
        return low + (high - low) * self._fast[:, self._columns(1)]

    def uniform_rgb(self, low, high):
        """Returns [N, 3, 1, 1] values uniform in [low, high], independent per channel."""
        k = self._columns(3)
        return low + (high - low) * self._fast[:, k:k + 3]

    def chance(self, probability):
        """Returns an [N, 1, 1] 0/1 mask that is 1 with the given probability."""
        column = self._exact[:, self._columns(1)]
        return (column < probability).astype(np.float32)[:, None, None]

    def choice(self, cumulative):
        """Returns [N] int indices drawn with the given cumulative probabilities."""
        column = self._exact[:, self._columns(1)]
        return np.minimum(np.searchsorted(cumulative, column, side="right"),
                          len(cumulative) - 1)

    def key(self):
        """Returns [N, 1, 1, 1] random uint32 hash keys."""
        column = self._exact[:, self._columns(1)]
        return (column * 2.0**32).astype(np.uint32)[:, None, None, None]

    def colour(self, palette, jitter):
        """Returns [N, 3, 1, 1] colours: random palette rows times 1 +- jitter per channel.

        Args:
            palette: `_Palette` to draw from.
            jitter: Largest relative change of each channel.
        """
        rows = palette.rgb[self.choice(palette.cumulative)][:, :, None, None]
        return rows * self.uniform_rgb(1 - jitter, 1 + jitter)

    def random_colour(self, low, high, saturation):
        """Returns [N, 3, 1, 1] colours with channels in [low, high] pulled towards grey.

        Args:
            low, high: Channel range in 0..255.
            saturation: (min, max) range of the fraction of the random tint that is kept.
        """
        rgb = self.uniform_rgb(low, high)
        grey = (rgb[:, 0:1] + rgb[:, 1:2] + rgb[:, 2:3]) * (1 / 3)
        return grey + self.uniform(*saturation)[:, None] * (rgb - grey)


@dataclass
class _Face:
    """Per-image parameters shared by several parts.

    Scalars are [N, 1, 1] float32 arrays, colours [N, 3, 1, 1] in 0..255, masks are
    0/1 floats; positions and sizes are in face units.
    """

    head_y: np.ndarray  # centre of the head ellipse
    head_w: np.ndarray  # half-width of the head at its widest
    head_h: np.ndarray  # half-height of the head
    jaw: np.ndarray  # 0.15..0.5, how much the lower head narrows towards the chin
    yaw: np.ndarray  # sideways shift of the inner features (head turned slightly)
    eye_y: np.ndarray  # height of the eye centres
    eye_dx: np.ndarray  # horizontal distance of each eye centre from the midline
    eye_w: np.ndarray  # half-width of an eye
    nose_y: np.ndarray  # height of the nose tip
    mouth_y: np.ndarray  # height of the mouth line
    skin: np.ndarray  # skin colour
    hair: np.ndarray  # hair (and brow) colour
    has_hair: np.ndarray  # mask: 0 for bald heads
    fringe: np.ndarray  # mask: straight bangs low on the forehead
    long_hair: np.ndarray  # mask: hair falls behind the shoulders
    light_x: np.ndarray  # direction the light comes from (unit vector, image plane)
    light_y: np.ndarray


def _sample_face(smp):
    """Draws the shared per-image parameters (see `_Face`)."""
    tone = smp.uniform(0, len(_SKIN_RAMP) - 1.001)[:, 0, 0]
    darker = np.floor(tone)
    ramp, next_ramp = _SKIN_RAMP[darker.astype(int)], _SKIN_RAMP[darker.astype(int) + 1]
    skin = ramp + (tone - darker)[:, None] * (next_ramp - ramp)  # [N, 3]
    warmth = 1 + smp.uniform(-0.05, 0.05)[:, None] * np.float32([1, 0, -1])[:, None, None]
    style = smp.uniform(0, 1)
    has_hair = (style > 0.07).astype(np.float32)
    light_x, light_y = smp.uniform(-1, 1), smp.uniform(-1, 0.4)
    light_norm = np.sqrt(light_x * light_x + light_y * light_y) + 1e-3
    return _Face(
        head_y=smp.uniform(-0.16, -0.1),
        head_w=smp.uniform(0.6, 0.7),
        head_h=smp.uniform(0.84, 0.94),
        jaw=smp.uniform(0.15, 0.5),
        yaw=smp.uniform(-0.07, 0.07),
        eye_y=smp.uniform(-0.23, -0.17),
        eye_dx=smp.uniform(0.26, 0.31),
        eye_w=smp.uniform(0.1, 0.13),
        nose_y=smp.uniform(0.17, 0.26),
        mouth_y=smp.uniform(0.47, 0.53),
        skin=skin[:, :, None, None] * warmth,
        hair=smp.colour(_HAIR, 0.08),
        has_hair=has_hair,
        fringe=(style > 0.65).astype(np.float32),
        long_hair=smp.chance(0.4) * has_hair,
        light_x=light_x / light_norm,
        light_y=light_y / light_norm,
    )


# --------------------------------------------------------------------------------------
# Canvas and drawing primitives


class _Region:
    """A rectangular window of the canvas for some or all of the images of a chunk.

    Attributes:
        rgb: [K, 3, h, w] float32 pixels in 0..255 (written back by `_Canvas.region`).
        x, y: [K, h, w] face-space coordinates of the pixel centres.
        px: [K, 1, 1] pixels per face unit.
        index: Which of the N images of the chunk the K rows are (a slice or indices).
    """

    def __init__(self, rgb, x, y, px, index):
        self.rgb, self.x, self.y, self.px, self.index = rgb, x, y, px, index
        self._scratch = np.empty_like(rgb)

    def take(self, *params):
        """Selects the region's images from [N, ...] parameters (one array or a tuple)."""
        taken = tuple(param[self.index] for param in params)
        return taken[0] if len(taken) == 1 else taken

    def alpha(self, sd, soft=0.0):
        """Coverage in [0, 1] of a shape given its signed distance (face units, < 0 inside).

        The edge is one pixel wide (anti-aliasing) plus `soft` face units.
        """
        coverage = 0.5 - sd * (self.px / (1.0 + soft * self.px))
        return np.clip(coverage, 0.0, 1.0, out=coverage)

    def paint(self, alpha, colour):
        """Composites colour ([K, 3, 1, 1] or [K, 3, h, w]) with alpha [K, h, w] in place."""
        np.subtract(colour, self.rgb, out=self._scratch)
        self._scratch *= alpha[:, None]
        self.rgb += self._scratch

    def shade(self, alpha, amount):
        """Multiplies the pixels by 1 + amount * alpha in place (soft shadows if < 0)."""
        self.rgb *= (1 + amount * alpha)[:, None]


class _Canvas:
    """[N, 3, S, S] float32 image buffer plus the posed face-space coordinates of its pixels.

    The pose maps face point f to image point p = t + s * R(roll) f, in image units where
    the image spans [-1, 1]; pixel centres are at (k + 0.5) * 2 / S - 1.
    """

    def __init__(self, size, smp):
        roll_sin = smp.uniform(-_MAX_ROLL_SIN, _MAX_ROLL_SIN)
        roll_cos = np.sqrt(1 - roll_sin * roll_sin)
        scale = smp.uniform(*_SCALE_RANGE)
        shift_x = smp.uniform(-_MAX_SHIFT, _MAX_SHIFT)
        shift_y = smp.uniform(-_MAX_SHIFT, _MAX_SHIFT)
        self.size = size
        self.coords = (np.arange(size, dtype=np.float32) + 0.5) * (2 / size) - 1
        du = (self.coords[None, None, :] - shift_x) * (1 / scale)
        dv = (self.coords[None, :, None] - shift_y) * (1 / scale)
        self.x = roll_cos * du + roll_sin * dv
        self.y = roll_cos * dv - roll_sin * du
        self.px = scale * (size / 2)
        self.rgb = np.empty((len(scale), 3, size, size), np.float32)

    @contextlib.contextmanager
    def region(self, x0, x1, y0, y1, only=None):
        """Yields a `_Region` for the face-space box [x0, x1] x [y0, y1].

        The region works on contiguous copies (much faster than strided views), written
        back on exit.

        Args:
            x0, x1, y0, y1: Box in face units holding everything the part draws.
            only: Optional [N, 1, 1] 0/1 mask; the region then holds just the images where
                it is 1, and per-image parameters must be selected with `_Region.take`.
        """
        rows, cols = _pixel_window(self.size, x0, x1, y0, y1)
        index = slice(None) if only is None else np.flatnonzero(only)
        rgb = np.ascontiguousarray(self.rgb[index, :, rows, cols])
        region = _Region(rgb, np.ascontiguousarray(self.x[index, rows, cols]),
                         np.ascontiguousarray(self.y[index, rows, cols]), self.px[index],
                         index)
        yield region
        if not np.may_share_memory(rgb, self.rgb):
            self.rgb[index, :, rows, cols] = rgb


@functools.lru_cache(maxsize=None)
def _pixel_window(size, x0, x1, y0, y1):
    """Row and column slices holding the face-space box under every allowed pose."""
    fx = np.array([x0, x1, x0, x1])
    fy = np.array([y0, y0, y1, y1])
    us, vs = [], []
    for sin in (-_MAX_ROLL_SIN, 0.0, _MAX_ROLL_SIN):
        cos = np.sqrt(1 - sin * sin)
        for scale in _SCALE_RANGE:
            us.append(scale * (cos * fx - sin * fy))
            vs.append(scale * (sin * fx + cos * fy))
    margin = _MAX_SHIFT + 2 / size  # translation and one pixel

    def to_slice(low, high):
        first = int(np.floor((low - margin + 1) * size / 2))
        last = int(np.ceil((high + margin + 1) * size / 2))
        return slice(min(max(first, 0), size), min(max(last, 0), size))

    return to_slice(np.min(vs), np.max(vs)), to_slice(np.min(us), np.max(us))


def _round_sd(x, y, a, b):
    """Cheap signed distance to a roundish ellipse (a and b within a factor ~2).

    Args:
        x, y: [K, h, w] coordinates relative to the centre.
        a, b: [K, 1, 1] half-width and half-height (or scalars).

    Returns:
        [K, h, w] (squared normalised radius - 1) * sqrt(a * b) / 2: the distance to first
        order at the outline (exactly for circles), without a square root.  It grows
        quadratically outside and reaches -sqrt(a * b) / 2 at the centre.
    """
    xa, yb = x * (1 / a), y * (1 / b)
    return (xa * xa + yb * yb - 1) * (0.5 * np.sqrt(np.multiply(a, b, dtype=np.float32)))


def _circle_sd(squared_distance, radius):
    """Signed distance to a circle to first order, from the squared distance to its centre."""
    return (squared_distance - radius * radius) * (0.5 / radius)


def _lens_sd(x, y, half_w, half_h):
    """Approximate signed distance to a lens shape |y| < half_h * (1 - (x / half_w)^2).

    Two parabolic arcs meeting in corners at (+-half_w, 0), as for eyes and lips.  The
    distance is measured vertically (fine for flat shapes) and bounded by |x| - half_w.

    Args:
        x, y: [K, h, w] coordinates relative to the centre.
        half_w: [K, 1, 1] half-width.
        half_h: Half-height at the centre, [K, 1, 1] or per pixel (see `_by_sign`).
    """
    across = x * (1 / half_w)
    return np.maximum(np.abs(y) - half_h * (1 - across * across), np.abs(x) - half_w)


def _by_sign(y, negative, positive):
    """Per-pixel choice between two per-image values: `negative` where y < 0, else `positive`.

    Arithmetic instead of np.where, which is slow with broadcast operands.
    """
    return positive + (negative - positive) * (y < 0)


def _strands(region, t, frequency, low, high):
    """Hair-strand texture: a triangle wave between low and high, `frequency` periods per unit t.

    Faded to its mean where a period spans fewer than ~3 pixels, to avoid aliasing at small
    sizes.
    """
    contrast = (high - low) * np.clip(region.px * (0.5 / frequency) - 1, 0, 1)
    phase = t * frequency
    return (0.5 * (low + high) - 0.5 * contrast) + (2 * contrast) * np.abs(phase - np.rint(phase))


# --------------------------------------------------------------------------------------
# Parts, in drawing order; each draws its own parameters from the sampler


def _draw_background(canvas, face, smp):
    """Fills the canvas with a two-colour linear gradient in a random direction."""
    first = smp.random_colour(30, 230, (0.2, 0.9))
    second = 0.5 * (first + smp.random_colour(30, 230, (0.2, 0.9)))
    dir_x, dir_y = smp.uniform(-0.5, 0.5), smp.uniform(-0.5, 0.5)
    t = dir_x * canvas.coords[None, None, :] + (dir_y * canvas.coords[None, :, None] + 0.5)
    np.multiply(t[:, None], second - first, out=canvas.rgb)
    canvas.rgb += first


def _draw_long_hair(canvas, face, smp):
    """Long hair: a curtain behind the head that falls down behind the shoulders."""
    bottom = smp.uniform(0.6, 1.4) - face.head_y
    spread = face.head_w + smp.uniform(0.06, 0.22)
    with canvas.region(-1.2, 1.2, -1.2, 1.6, only=face.long_hair) as region:
        bottom, spread, head_y, head_h, hair = region.take(
            bottom, spread, face.head_y, face.head_h, face.hair)
        x, y = region.x, region.y - head_y
        top = _round_sd(x, y + 0.04, spread, head_h + 0.1)
        curtain = np.maximum(np.abs(x) - spread, np.abs(y - 0.5 * bottom) - 0.5 * bottom)
        shade = _strands(region, x + 0.25 * y, 8, 0.72, 0.84)
        region.paint(region.alpha(np.minimum(top, curtain)), hair * shade[:, None])


def _draw_neck(canvas, face, smp):
    """Neck from the middle of the head (hidden behind it) down to the bottom edge."""
    half_w = face.head_w * smp.uniform(0.34, 0.44)
    flare_y = face.head_y + face.head_h - 0.15
    with canvas.region(-0.62, 0.62, 0.2, 1.2) as region:
        flare = np.clip(region.y - flare_y, 0, 1)  # widening towards the shoulders
        sd = np.maximum(np.abs(region.x) - (half_w + 0.4 * flare * flare), 0.3 - region.y)
        region.paint(region.alpha(sd), face.skin * 0.8)


def _draw_clothes(canvas, face, smp):
    """Shoulders along the bottom edge with a round neckline showing the neck."""
    colour = smp.random_colour(20, 235, (0.3, 1.0))
    top = face.head_y + face.head_h + smp.uniform(0.06, 0.16)
    drop = smp.uniform(0.03, 0.15)
    neckline_w = face.head_w * smp.uniform(0.45, 0.75)
    neckline_h = smp.uniform(0.04, 0.16)
    with canvas.region(-1.2, 1.2, 0.55, 1.2) as region:
        x, y = region.x, region.y - top
        body = region.alpha(drop * x * x - y)
        neckline = region.alpha(_round_sd(x, y, neckline_w, neckline_h))
        region.paint(body - body * neckline, colour)


def _draw_ears(canvas, face, smp):
    """Two ears at eye/nose height, partly hidden behind the head."""
    half_w, half_h = smp.uniform(0.06, 0.085), smp.uniform(0.12, 0.15)
    for side, x0, x1 in ((-1, -0.78, -0.47), (1, 0.47, 0.78)):  # one window per ear
        with canvas.region(x0, x1, -0.32, 0.08) as region:
            outward = side * region.x - face.head_w * 0.96
            y = region.y - (face.eye_y + 0.08)
            region.paint(region.alpha(_round_sd(outward, y, half_w, half_h)),
                         face.skin * 0.9)
            hollow = _round_sd(outward - 0.25 * half_w, y, 0.45 * half_w, 0.6 * half_h)
            region.shade(region.alpha(hollow, soft=0.02), -0.25)


def _draw_head(canvas, face, smp):
    """Head: an ellipse narrowing towards the jaw, with darker rims for roundness."""
    with canvas.region(-0.85, 0.85, -1.2, 1.0) as region:
        y = region.y - face.head_y
        lower = np.clip(y * (1 / face.head_h), 0, 1)
        x = region.x * (1 + face.jaw * lower * lower)  # narrower jaw = stretched x
        sd = _round_sd(x, y, face.head_w, face.head_h)
        rim = np.clip(sd * (1 / 0.25) + 1, 0, 1)
        region.paint(region.alpha(sd), face.skin * (1 - 0.22 * rim * rim)[:, None])


def _draw_cheeks(canvas, face, smp):
    """Faint blush on both cheeks."""
    amount = smp.uniform(0.0, 0.3)
    blush = face.skin * np.float32([1.0, 0.72, 0.74])[:, None, None]
    with canvas.region(-0.63, 0.63, -0.08, 0.28) as region:
        outward = np.abs(region.x - face.yaw) - (face.eye_dx + 0.05)
        sd = _round_sd(outward, region.y - (face.eye_y + 0.3), 0.11, 0.08)
        region.paint(region.alpha(sd, soft=0.1) * amount, blush)


def _draw_nose(canvas, face, smp):
    """Nose: bridge shadow on the side away from the light, tip, nostrils."""
    half_w = smp.uniform(0.055, 0.09)
    centre = 1.4 * face.yaw  # the nose sticks out, so yaw shifts it most
    shadow_x = centre - 0.6 * half_w * np.sign(face.light_x)
    bridge_y = 0.5 * (face.eye_y + face.nose_y)
    bridge_h = 0.5 * (face.nose_y - face.eye_y) - 0.05
    with canvas.region(-0.27, 0.27, -0.24, 0.38) as region:
        x, y = region.x - centre, region.y - face.nose_y
        bridge = np.maximum(np.abs(region.x - shadow_x) - 0.012,
                            np.abs(region.y - bridge_y) - bridge_h)
        region.shade(region.alpha(bridge, soft=0.04), -0.18)
        under_tip = _round_sd(x, y - 0.04, 1.2 * half_w, 0.03)
        region.shade(region.alpha(under_tip, soft=0.03), -0.25)
        tip = _round_sd(x, y + 0.015, 0.6 * half_w, 0.03)
        region.shade(region.alpha(tip, soft=0.03), 0.12)
        nostrils = _round_sd(np.abs(x) - 0.55 * half_w, y - 0.025, 0.026, 0.015)
        region.paint(region.alpha(nostrils) * 0.85, face.skin * 0.35)


def _draw_mouth(canvas, face, smp):
    """Lips with variable width and smile, closed (parting line) or slightly open."""
    half_w = smp.uniform(0.13, 0.21)
    upper, lower = smp.uniform(0.022, 0.04), smp.uniform(0.03, 0.055)
    smile = smp.uniform(-0.02, 0.06)
    opening = smp.chance(0.3) * smp.uniform(0.012, 0.04) + 0.005
    teeth_shown = (opening > 0.02).astype(np.float32)
    lipstick = smp.chance(0.15) * smp.uniform(0.3, 0.8)
    lips = face.skin * np.float32([0.86, 0.6, 0.62])[:, None, None] + 12
    lips = lips + lipstick[:, None] * (np.float32([170, 30, 55])[:, None, None] - lips)
    with canvas.region(-0.3, 0.3, 0.35, 0.7) as region:
        x = region.x - face.yaw
        across = x * (1 / half_w)
        y = (region.y - face.mouth_y) + smile * across * across  # smile lifts the corners
        chin_shadow = _round_sd(x, y - (lower + 0.035), 0.6 * half_w, 0.025)
        region.shade(region.alpha(chin_shadow, soft=0.04), -0.15)
        lip_sd = _lens_sd(x, y, half_w, _by_sign(y, upper, lower))
        region.paint(region.alpha(lip_sd), lips)
        gap = region.alpha(_lens_sd(x, y, 0.85 * half_w, opening))
        region.paint(gap, np.float32([60, 22, 26])[:, None, None])
        teeth = gap * region.alpha(y + 0.3 * opening) * teeth_shown
        region.paint(teeth, np.float32(228))


def _draw_eyes(canvas, face, smp):
    """Eyes: socket shadow, sclera, shaded iris with pupil, highlight and eyelid line."""
    half_h = smp.uniform(0.05, 0.075)
    lower_h = half_h * smp.uniform(0.6, 0.85)
    tilt = smp.uniform(-0.08, 0.15)
    gaze = smp.uniform(-0.3, 0.3) * face.eye_w + face.yaw
    iris_r = smp.uniform(0.045, 0.06)
    iris = smp.colour(_IRIS, 0.1)
    lid_w = smp.uniform(0.012, 0.03)
    glint_x, glint_y = gaze + 0.35 * iris_r * face.light_x, face.eye_y - 0.35 * iris_r
    with canvas.region(-0.6, 0.6, -0.42, 0.0) as region:
        # Mirrored coordinates draw both eyes at once; "outward" grows away from the
        # nose.  The round iris and glint are mirrored about their own centres.
        outward = np.abs(region.x - face.yaw) - face.eye_dx
        y = region.y - face.eye_y
        lid_y = y + tilt * outward
        eye_sd = _lens_sd(outward, lid_y, face.eye_w, _by_sign(lid_y, half_h, lower_h))
        region.shade(region.alpha(eye_sd - 0.04, soft=0.06), -0.12)  # socket
        eye = region.alpha(eye_sd)
        region.paint(eye, np.float32(236))
        iris_x = np.abs(region.x - gaze) - face.eye_dx
        iris_d2 = iris_x * iris_x + y * y
        pupil = region.alpha(_circle_sd(iris_d2, 0.45 * iris_r))
        shade = (1.15 - (0.5 / (iris_r * iris_r)) * iris_d2) * (1 - 0.92 * pupil)
        iris_alpha = region.alpha(_circle_sd(iris_d2, iris_r)) * eye
        region.paint(iris_alpha, iris * shade[:, None])
        glint_dx = np.abs(region.x - glint_x) - face.eye_dx
        glint_dy = region.y - glint_y
        glint = _circle_sd(glint_dx * glint_dx + glint_dy * glint_dy, 0.22 * iris_r)
        region.paint(region.alpha(glint) * eye * 0.9, np.float32(255))
        lid = region.alpha(np.abs(eye_sd) - 0.5 * lid_w)
        lid_upper = 0.35 + 0.65 * region.alpha(lid_y - 0.3 * lower_h)
        region.paint(lid * lid_upper, np.float32(28))


def _draw_brows(canvas, face, smp):
    """Brows in the hair colour with random height, length, thickness, arch and tilt."""
    height = face.eye_y - smp.uniform(0.1, 0.15)
    centre = face.eye_dx + smp.uniform(-0.02, 0.03)
    half_len = face.eye_w * smp.uniform(1.0, 1.3)
    thickness = smp.uniform(0.02, 0.05)
    arch, tilt = smp.uniform(0.0, 0.04), smp.uniform(-0.1, 0.15)
    with canvas.region(-0.6, 0.6, -0.48, -0.17) as region:
        t = (np.abs(region.x - face.yaw) - centre) * (1 / half_len)  # -1 inner .. 1 outer
        mid = height - arch + t * (arch * t - tilt * half_len)
        half_th = 0.5 * thickness - (0.175 * thickness) * t
        sd = np.maximum(np.abs(region.y - mid) - half_th, (np.abs(t) - 1) * half_len)
        region.paint(region.alpha(sd, soft=0.01), face.hair * 0.8)


def _draw_hair(canvas, face, smp):
    """Hair on the head: a cap above a hairline or jagged bangs, down to the temples."""
    volume = smp.uniform(0.03, 0.12)
    part = smp.uniform(-0.12, 0.12)
    hairline = np.where(face.fringe > 0, smp.uniform(-0.6, -0.52), smp.uniform(-0.72, -0.56))
    curvature = np.where(face.fringe > 0, smp.uniform(0.05, 0.25), smp.uniform(0.3, 0.55))
    sides = np.where(face.long_hair > 0, smp.uniform(0.0, 0.45), smp.uniform(-0.3, -0.05))
    sides = np.where(face.has_hair > 0, sides, -9)  # bald: the hair ends far above the image
    jag = 0.17 * face.fringe  # times strands in [0.85, 1]: bangs with a jagged edge
    with canvas.region(-1.1, 1.1, -1.3, 0.6) as region:
        x, y = region.x, region.y
        across = (x - part) * (1 / face.head_w)
        strands = _strands(region, across + 0.22 * y, 9, 0.85, 1.0)
        edge = (hairline + curvature * across * across) + jag * strands
        outline = _round_sd(x, y - (face.head_y - 0.02), face.head_w + volume,
                            face.head_h + volume)
        temples = (face.head_w - 0.06) - np.abs(x)  # hair hugging the sides of the head
        sd = np.maximum(np.maximum(outline, y - sides), np.minimum(y - edge, temples))
        region.paint(region.alpha(sd), face.hair * strands[:, None])


def _draw_glasses(canvas, face, smp):
    """Glasses on ~20 % of faces: two frames (round to square), bridge and temple arms."""
    present = smp.chance(0.2)
    colour = smp.colour(_FRAMES, 0.1)
    half_w = face.eye_w + smp.uniform(0.04, 0.07)
    half_h = smp.uniform(0.08, 0.12)
    width = smp.uniform(0.012, 0.03)
    square = smp.uniform(0, 1)
    tint = smp.uniform(0.0, 0.2)
    arm_end = face.head_w + 0.03
    with canvas.region(-0.75, 0.75, -0.37, -0.01, only=present) as region:
        colour, half_w, half_h, width, square, tint, arm_end, yaw, eye_y, eye_dx = (
            region.take(colour, half_w, half_h, width, square, tint, arm_end,
                        face.yaw, face.eye_y, face.eye_dx))
        outward = np.abs(region.x - yaw) - eye_dx
        y = region.y - eye_y - 0.01
        x2 = outward * outward * (1 / (half_w * half_w))
        y2 = y * y * (1 / (half_h * half_h))
        round_r = np.sqrt(x2 + y2)
        square_r = np.sqrt(np.sqrt(x2 * x2 + y2 * y2))
        lens_sd = (round_r + square * (square_r - round_r) - 1) * half_h
        bridge = np.maximum(np.abs(y + 0.3 * half_h) - 0.5 * width, outward + half_w - 0.01)
        arm = np.maximum(np.abs(y + 0.4 * half_h) - 0.5 * width, half_w - 0.01 - outward)
        arm = np.maximum(arm, np.abs(region.x) - arm_end)
        frame_sd = np.minimum(np.abs(lens_sd) - 0.5 * width, np.minimum(bridge, arm))
        region.paint(region.alpha(lens_sd) * tint, np.float32(235))
        region.paint(region.alpha(frame_sd), colour)


_PARTS = (_draw_background, _draw_long_hair, _draw_neck, _draw_clothes, _draw_ears,
          _draw_head, _draw_cheeks, _draw_nose, _draw_mouth, _draw_eyes, _draw_brows,
          _draw_hair, _draw_glasses)


# --------------------------------------------------------------------------------------
# Finishing


def _apply_lighting(canvas, face, smp):
    """Directional light across the whole image and an overall brightness change."""
    strength = smp.uniform(0.05, 0.25)
    brightness = smp.uniform(0.78, 1.12)
    slope_x, slope_y = brightness * strength * face.light_x, brightness * strength * face.light_y
    canvas.rgb *= (slope_x * canvas.x + (slope_y * canvas.y + brightness))[:, None]


def _noise(smp, size):
    """[N, 1, S, S] triangular luminance noise in (-_NOISE, _NOISE) from a per-image key.

    An integer hash of (pixel index, key) replaces drawing from the generator, which would
    dominate the rendering time.
    """
    h = np.arange(size * size, dtype=np.uint32).reshape(1, 1, size, size) ^ smp.key()
    h *= np.uint32(0x9E3779B1)
    h ^= h >> np.uint32(15)
    h *= np.uint32(0x85EBCA77)
    h ^= h >> np.uint32(13)
    low = (h & np.uint32(0xFFFF)).astype(np.float32)
    high = (h >> np.uint32(16)).astype(np.float32)
    return (low + high) * (_NOISE / 65535) - _NOISE
