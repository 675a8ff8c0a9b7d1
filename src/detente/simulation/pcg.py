"""NumPy's PCG64 stream of doubles, drawn inside compiled code.

``Generator.random`` on a PCG64 generator returns ``(next64() >> 11) * 2**-53``, where
``next64`` advances a 128-bit linear congruential state and outputs its XSL-RR permutation
(O'Neill's PCG64, as NumPy implements it). numba can draw from a ``Generator`` too, but through
a function pointer per number; here the step is inlined with LLVM's 128-bit integers, which
makes a draw several times cheaper. :func:`attach` reads a generator's state into a small
array, checks on a copy that this stream equals NumPy's, and :func:`detach` writes the advanced
state back, so the generator continues exactly where NumPy would have.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic
from numpy.typing import NDArray

__all__ = ["UIntArray", "attach", "detach", "random"]

UIntArray = NDArray[np.uint64]
_MASK64 = (1 << 64) - 1
_MULT_HI, _MULT_LO = 2549297995355413924, 4865540595714422341
_MULT = (_MULT_HI << 64) + _MULT_LO


@intrinsic
def _muladd_ir(typingctx, hi, lo, a_hi, a_lo, c_hi, c_lo):  # type: ignore[no-untyped-def]
    """``state * a + c`` on 128 bits, each operand as (high, low) 64-bit words; returns the
    result's (high, low) words."""
    u64 = types.uint64
    sig = types.UniTuple(u64, 2)(u64, u64, u64, u64, u64, u64)  # type: ignore[no-untyped-call]

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        i128 = ir.IntType(128)
        i64 = ir.IntType(64)
        sixty_four = ir.Constant(i128, 64)

        def join(h, lo_):  # type: ignore[no-untyped-def]
            return builder.or_(builder.shl(builder.zext(h, i128), sixty_four), builder.zext(lo_, i128))

        state = join(args[0], args[1])  # type: ignore[no-untyped-call]
        factor = join(args[2], args[3])  # type: ignore[no-untyped-call]
        addend = join(args[4], args[5])  # type: ignore[no-untyped-call]
        new = builder.add(builder.mul(state, factor), addend)
        new_hi = builder.trunc(builder.lshr(new, sixty_four), i64)
        new_lo = builder.trunc(new, i64)
        return context.make_tuple(builder, signature.return_type, [new_hi, new_lo])

    return sig, codegen


#: ``_muladd_ir`` as the checker sees it: six 64-bit words in, two out.
_muladd: Callable[..., tuple[np.uint64, np.uint64]] = _muladd_ir


@njit(inline="always")
def _double(hi: np.uint64, lo: np.uint64) -> float:
    """PCG64's XSL-RR output of a state, as NumPy turns it into a double in [0, 1)."""
    xored = hi ^ lo
    rot = hi >> np.uint64(58)
    word = (xored >> rot) | (xored << ((np.uint64(64) - rot) & np.uint64(63)))
    return np.float64(word >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def random(words: UIntArray, n: int, m: int) -> NDArray[np.float64]:
    """An (n, m) array of doubles in [0, 1), as ``Generator.random((n, m))`` draws them, and
    ``words`` (from :func:`attach`) advanced past them.

    Four lanes run side by side, each jumping four steps at a time (``words[4:8]``: the
    multiplier and increment of four steps), so that the four multiplications of a round do
    not wait for one another; the numbers and their order are those of one step at a time."""
    out = np.empty((n, m))
    flat = out.reshape(n * m)
    total = n * m
    m_hi, m_lo = np.uint64(_MULT_HI), np.uint64(_MULT_LO)
    inc_hi, inc_lo = words[2], words[3]
    hi, lo = words[0], words[1]
    j = 0
    if total >= 4:
        h1, l1 = _muladd(hi, lo, m_hi, m_lo, inc_hi, inc_lo)
        h2, l2 = _muladd(h1, l1, m_hi, m_lo, inc_hi, inc_lo)
        h3, l3 = _muladd(h2, l2, m_hi, m_lo, inc_hi, inc_lo)
        h4, l4 = _muladd(h3, l3, m_hi, m_lo, inc_hi, inc_lo)
        a_hi, a_lo, c_hi, c_lo = words[4], words[5], words[6], words[7]
        while True:
            flat[j] = _double(h1, l1)
            flat[j + 1] = _double(h2, l2)
            flat[j + 2] = _double(h3, l3)
            flat[j + 3] = _double(h4, l4)
            j += 4
            if j + 4 > total:
                break
            h1, l1 = _muladd(h1, l1, a_hi, a_lo, c_hi, c_lo)
            h2, l2 = _muladd(h2, l2, a_hi, a_lo, c_hi, c_lo)
            h3, l3 = _muladd(h3, l3, a_hi, a_lo, c_hi, c_lo)
            h4, l4 = _muladd(h4, l4, a_hi, a_lo, c_hi, c_lo)
        hi, lo = h4, l4
    while j < total:
        hi, lo = _muladd(hi, lo, m_hi, m_lo, inc_hi, inc_lo)
        flat[j] = _double(hi, lo)
        j += 1
    words[0] = hi
    words[1] = lo
    return out


def _words(rng: np.random.Generator) -> UIntArray:
    """State, increment, and the multiplier and increment of four steps, as 64-bit word pairs."""
    st = rng.bit_generator.state["state"]
    s, inc = int(st["state"]), int(st["inc"])
    mod = 1 << 128
    mult4 = pow(_MULT, 4, mod)
    inc4 = inc * (1 + _MULT + _MULT**2 + _MULT**3) % mod
    return np.array(
        [w for v in (s, inc, mult4, inc4) for w in (v >> 64, v & _MASK64)],
        dtype=np.uint64,
    )


def attach(rng: np.random.Generator) -> UIntArray | None:
    """The state of ``rng`` as eight 64-bit words for :func:`random`, or None when ``rng`` is not
    a PCG64 generator or when this stream does not reproduce NumPy's on a copy of it."""
    if type(rng.bit_generator) is not np.random.PCG64:
        return None
    words = _words(rng)
    probe = np.random.Generator(np.random.PCG64())
    probe.bit_generator.state = rng.bit_generator.state
    expected = probe.random((3, 3))
    if not np.array_equal(random(words.copy(), 3, 3), expected):
        return None
    return words


def detach(rng: np.random.Generator, words: UIntArray) -> None:
    """Write the state advanced by :func:`random` back into ``rng``."""
    st = rng.bit_generator.state
    st["state"]["state"] = (int(words[0]) << 64) | int(words[1])
    rng.bit_generator.state = st
