//! n-gram counting shared by BLEU and chrF. Keys are packed integers
//! (token ids, characters) or borrow from the segment's text, so counting
//! allocates no strings; tables use foldhash, several times faster than the
//! standard SipHash on these short keys (counts are summed, so iteration
//! order never matters).

use std::hash::Hash;

/// Counts of n-grams of one order (or of all orders, for BLEU). foldhash
/// with a fixed seed: a per-table random seed costs more than hashing a
/// short segment's n-grams, and counts never depend on iteration order.
pub type Counts<K> = std::collections::HashMap<K, u32, foldhash::fast::FixedState>;

/// An empty [`Counts`] with room for `n` keys.
pub fn counts_with_capacity<K>(n: usize) -> Counts<K> {
    Counts::with_capacity_and_hasher(n, Default::default())
}

/// Numbers the distinct tokens of a sentence pair (equal bytes, equal ids,
/// from 1) so that n-grams of up to four tokens pack into one integer key.
/// Reused from one pair to the next, it allocates nothing once warm: an
/// open-addressing table (a `HashMap<&str, u32>` borrows each pair's text,
/// so it is built anew for every pair, and sentence-level BLEU scores
/// millions of pairs).
///
/// A token is found by its [`TokenKey`]: its first 16 bytes as one integer,
/// and its length. Callers that hold the text with 16 bytes to spare after
/// every token ([`padded_key`]) build it with one load and a mask, without a
/// branch on the length (a token's length is as random as its hash, and
/// each branch on it was mispredicted about once a token: in the hashing of
/// the bytes, in `memcmp` and in `memcpy`). Only tokens longer than 16
/// bytes are copied and compared byte by byte.
#[derive(Debug, Default)]
pub struct TokenTable {
    /// A power of two long; an id of 0 marks an empty slot.
    slots: Vec<Slot>,
    /// Per id (less one): a long token's byte range in `store` (empty for
    /// tokens of up to 16 bytes).
    spans: Vec<(u32, u32)>,
    store: Vec<u8>,
    /// The slots filled since the last [`TokenTable::clear`].
    used: Vec<usize>,
}

/// How a [`TokenTable`] finds a token: its first 16 bytes, zero-padded, as
/// a little-endian integer, and its length.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TokenKey {
    prefix: u128,
    len: u32,
}

/// Bytes that must follow the text of a token for [`padded_key`].
pub const KEY_PADDING: usize = 16;

/// The key of the token at `text[start..start + len]`, where `text` has at
/// least [`KEY_PADDING`] bytes after the token (in bounds: checked).
#[inline]
pub fn padded_key(text: &[u8], start: usize, len: usize) -> TokenKey {
    let word = u128::from_le_bytes(
        text[start..start + 16]
            .try_into()
            .expect("16 bytes from the start"),
    );
    TokenKey {
        prefix: word & PREFIX_MASKS[len.min(16)],
        len: len as u32,
    }
}

/// `PREFIX_MASKS[n]`: the low `n` bytes of a `u128` set.
const PREFIX_MASKS: [u128; 17] = {
    let mut masks = [0u128; 17];
    let mut n = 1;
    while n < 17 {
        masks[n] = u128::MAX >> (8 * (16 - n));
        n += 1;
    }
    masks
};

/// The key of `token`, read from the token alone (a copy of its first 16
/// bytes; for callers without padded text).
pub fn token_key(token: &[u8]) -> TokenKey {
    let mut bytes = [0u8; 16];
    let n = token.len().min(16);
    bytes[..n].copy_from_slice(&token[..n]);
    TokenKey {
        prefix: u128::from_le_bytes(bytes),
        len: token.len() as u32,
    }
}

/// A [`TokenTable`] slot: a token's key and id.
#[derive(Debug, Default, Clone, Copy)]
struct Slot {
    key: TokenKey,
    id: u32,
}

impl TokenTable {
    /// The number of distinct tokens (the highest id).
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// The id of `token`, assigning the next one when it is new.
    pub fn id(&mut self, token: &[u8]) -> u32 {
        self.id_of(token_key(token), token)
    }

    /// The id of `token`, whose key is `key`, assigning the next one when
    /// it is new.
    #[inline]
    pub fn id_of(&mut self, key: TokenKey, token: &[u8]) -> u32 {
        debug_assert_eq!(key, token_key(token));
        if 2 * (self.spans.len() + 1) > self.slots.len() {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut slot = home(key) & mask;
        loop {
            let held = self.slots[slot];
            if held.id == 0 {
                break;
            }
            if held.key == key && (key.len <= 16 || self.long_token(held.id) == token) {
                return held.id;
            }
            slot = (slot + 1) & mask;
        }
        let span = if key.len > 16 {
            let start = self.store.len() as u32;
            self.store.extend_from_slice(token);
            (start, self.store.len() as u32)
        } else {
            (0, 0)
        };
        self.spans.push(span);
        let id = self.spans.len() as u32;
        self.slots[slot] = Slot { key, id };
        self.used.push(slot);
        id
    }

    /// The bytes of the token with `id`, longer than 16 bytes.
    fn long_token(&self, id: u32) -> &[u8] {
        let (start, end) = self.spans[id as usize - 1];
        &self.store[start as usize..end as usize]
    }

    /// Forgets every token (keeping the memory).
    pub fn clear(&mut self) {
        for &slot in &self.used {
            self.slots[slot].id = 0;
        }
        self.used.clear();
        self.spans.clear();
        self.store.clear();
    }

    /// Doubles the table (at least 64 slots) and re-inserts every token
    /// (by its key: the bytes are not needed).
    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(64);
        let held: Vec<Slot> = self.used.iter().map(|&slot| self.slots[slot]).collect();
        self.slots.clear();
        self.slots.resize(size, Slot::default());
        self.used.clear();
        for entry in held {
            let mut slot = home(entry.key) & (size - 1);
            while self.slots[slot].id != 0 {
                slot = (slot + 1) & (size - 1);
            }
            self.slots[slot] = entry;
            self.used.push(slot);
        }
    }
}

/// The home slot (before masking) of a key: its bits multiplied together,
/// the high half of the product.
#[inline]
fn home(key: TokenKey) -> usize {
    let lo = key.prefix as u64;
    let hi = (key.prefix >> 64) as u64;
    let mixed = (lo ^ hi.wrapping_mul(0xC2B2_AE3D_27D4_EB4F) ^ u64::from(key.len) << 59)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> 32) as usize
}

/// An n-gram of up to four token ids packed into one integer, `ID_BITS`
/// bits an id, the first token highest; ids are never 0, so that keys of
/// different orders differ and no key is [`PackedKey::EMPTY`].
pub trait PackedKey: Copy + Eq {
    /// Bits per token id.
    const ID_BITS: u32;
    /// The key of no tokens.
    const EMPTY: Self;
    /// The key with `id` appended (the first of four ids dropped).
    fn push(self, id: u32) -> Self;
    /// The key of the last `n` ids (1 to 4).
    fn last(self, n: usize) -> Self;
    /// A hash of the key for [`KeyCounts`] (its high bits mixed).
    fn hash(self) -> u64;
}

impl PackedKey for u64 {
    const ID_BITS: u32 = 16;
    const EMPTY: Self = 0;
    fn push(self, id: u32) -> Self {
        (self << 16) | u64::from(id)
    }
    fn last(self, n: usize) -> Self {
        self & (u64::MAX >> (64 - 16 * n))
    }
    fn hash(self) -> u64 {
        self.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32
    }
}

impl PackedKey for u128 {
    const ID_BITS: u32 = 32;
    const EMPTY: Self = 0;
    fn push(self, id: u32) -> Self {
        (self << 32) | u128::from(id)
    }
    fn last(self, n: usize) -> Self {
        self & (u128::MAX >> (128 - 32 * n))
    }
    fn hash(self) -> u64 {
        (self as u64 ^ (self >> 64) as u64).hash()
    }
}

/// Calls `f` with the order and the packed key of each n-gram of orders 1
/// to `max` (at most 4) of `ids` (each below 2^`K::ID_BITS`), by the position where it
/// ends: one key rolls over the ids, and the n-grams ending at a token are
/// its last 1, 2, … ids (not a fold of each window anew).
pub fn for_each_ngram<K: PackedKey>(ids: &[u32], max: usize, mut f: impl FnMut(usize, K)) {
    debug_assert!(max <= 4);
    let mut key = K::EMPTY;
    for (i, &id) in ids.iter().enumerate() {
        key = key.push(id);
        for n in 1..=max.min(i + 1) {
            f(n, key.last(n));
        }
    }
}

/// Counts of packed n-gram keys (never [`PackedKey::EMPTY`]): an
/// open-addressing table reused from one segment to the next, emptied
/// through the list of the slots it filled. For a segment's hundred or so
/// n-grams, one pass over a table per side costs less than sorting both.
#[derive(Debug, Default)]
pub struct KeyCounts<K> {
    /// Key and count per slot; a power of two long.
    slots: Vec<(K, u32)>,
    /// The slots filled since the last [`KeyCounts::clear`].
    used: Vec<usize>,
}

impl<K: PackedKey> KeyCounts<K> {
    /// Room for `n` more keys (the table at most half full).
    pub fn reserve(&mut self, n: usize) {
        let needed = 2 * (self.used.len() + n);
        if needed <= self.slots.len() && !self.slots.is_empty() {
            return;
        }
        let entries: Vec<(K, u32)> = self.entries().collect();
        self.slots.clear();
        self.slots
            .resize(needed.next_power_of_two().max(64), (K::EMPTY, 0));
        self.used.clear();
        for (key, count) in entries {
            let slot = self.slot(key);
            self.slots[slot] = (key, count);
            self.used.push(slot);
        }
    }

    /// The slot holding `key`, or the empty slot where it goes.
    fn slot(&self, key: K) -> usize {
        let mask = self.slots.len() - 1;
        let mut slot = key.hash() as usize & mask;
        while self.slots[slot].0 != key && self.slots[slot].0 != K::EMPTY {
            slot = (slot + 1) & mask;
        }
        slot
    }

    /// The slot of `key`, filled with it (count 0) if it was empty.
    fn entry(&mut self, key: K) -> &mut u32 {
        let slot = self.slot(key);
        if self.slots[slot].0 == K::EMPTY {
            self.slots[slot].0 = key;
            self.used.push(slot);
        }
        &mut self.slots[slot].1
    }

    /// Counts `key` once more (room reserved).
    pub fn add(&mut self, key: K) {
        *self.entry(key) += 1;
    }

    /// Raises `key`'s count to `count` if it is lower (room reserved).
    pub fn raise(&mut self, key: K, count: u32) {
        let held = self.entry(key);
        *held = (*held).max(count);
    }

    /// Takes one from `key`'s count; false when it was 0 or absent.
    pub fn take(&mut self, key: K) -> bool {
        let slot = self.slot(key);
        let count = &mut self.slots[slot].1;
        let taken = *count > 0;
        *count -= u32::from(taken);
        taken
    }

    /// Every key with its count, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = (K, u32)> + '_ {
        self.used.iter().map(|&slot| self.slots[slot])
    }

    /// Forgets every key (keeping the memory).
    pub fn clear(&mut self) {
        for &slot in &self.used {
            self.slots[slot] = (K::EMPTY, 0);
        }
        self.used.clear();
    }
}

/// The most bits a character's id in [`char_match_stats`] can need: ids
/// count the distinct characters of a pair, fewer than U+10FFFF + 1.
const CHAR_BITS: u32 = 21;

/// The longest character n-gram that packs into a `u128`.
pub const MAX_PACKED_CHAR_ORDER: usize = (128 / CHAR_BITS) as usize;

/// Scratch space of [`char_match_stats`], reused from one sentence pair to
/// the next: each distinct character of a pair gets a small id (1, 2, …),
/// so that the keys of a pair of a few dozen distinct characters fit 64
/// bits instead of 128 (sorting them is the main cost).
#[derive(Default)]
pub struct CharScratch {
    /// Id per code point (0: not seen in this pair); `0x110000` entries,
    /// allocated on first use, reset after each pair.
    ids: Vec<u32>,
    /// The code points seen in this pair.
    seen: Vec<u32>,
    keys64: Vec<u64>,
    keys128: Vec<u128>,
}

/// The integer operations [`grouped_matches`] needs from its key type.
trait Key:
    Copy
    + Ord
    + std::ops::Shl<u32, Output = Self>
    + std::ops::Shr<u32, Output = Self>
    + std::ops::BitOr<Output = Self>
    + std::ops::BitXor<Output = Self>
    + std::ops::BitAnd<Output = Self>
    + From<u32>
{
    const BITS: u32;
    fn leading_zeros(self) -> u32;
    fn trailing_zeros(self) -> u32;
}

impl Key for u64 {
    const BITS: u32 = 64;
    fn leading_zeros(self) -> u32 {
        u64::leading_zeros(self)
    }
    fn trailing_zeros(self) -> u32 {
        u64::trailing_zeros(self)
    }
}

impl Key for u128 {
    const BITS: u32 = 128;
    fn leading_zeros(self) -> u32 {
        u128::leading_zeros(self)
    }
    fn trailing_zeros(self) -> u32 {
        u128::trailing_zeros(self)
    }
}

/// Per order `1..=order` (at most [`MAX_PACKED_CHAR_ORDER`]): the
/// hypothesis' character n-grams, the reference's, and the clipped matches,
/// as sacrebleu's `_get_match_statistics` counts them (the hypothesis count
/// is zero when the reference has no n-gram of that order).
///
/// Every position of both texts becomes one key: the `order` characters
/// from there, each stored as its id in the pair (see [`CharScratch`]; 0
/// past the end), with the side in the lowest bit. One sort of these keys
/// groups equal n-grams of every order at once (equal n-character prefixes
/// are contiguous, whatever ids the characters have), so a sentence pair
/// costs one small sort instead of a hash map per order and side.
pub fn char_match_stats(
    hyp: &[char],
    reference: &[char],
    order: usize,
    scratch: &mut CharScratch,
) -> Vec<[u64; 3]> {
    debug_assert!((1..=MAX_PACKED_CHAR_ORDER).contains(&order));
    let CharScratch {
        ids,
        seen,
        keys64,
        keys128,
    } = scratch;
    if ids.is_empty() {
        ids.resize(0x110000, 0);
    }
    for &c in hyp.iter().chain(reference) {
        let id = &mut ids[c as usize];
        if *id == 0 {
            seen.push(c as u32);
            *id = seen.len() as u32;
        }
    }
    // Ids 1..=seen.len() and 0 for "past the end".
    let bits = u32::BITS - (seen.len() as u32).leading_zeros();
    let id = |c: char| ids[c as usize];
    let matched = if bits * (order as u32) < u64::BITS {
        grouped_matches(hyp, reference, order, bits, id, keys64)
    } else {
        grouped_matches(hyp, reference, order, bits, id, keys128)
    };
    for &c in seen.iter() {
        ids[c as usize] = 0;
    }
    seen.clear();
    order_stats(hyp.len(), reference.len(), &matched[..order])
}

/// Per order `n` = 1, 2, … (one per entry of `matched`, the clipped
/// matches): the hypothesis' n-grams, the reference's, and the matches, for
/// sequences of `hyp_len` and `ref_len` items, as sacrebleu's
/// `_get_match_statistics` counts them (the hypothesis count is zero when
/// the reference has no n-gram of that order).
fn order_stats(hyp_len: usize, ref_len: usize, matched: &[u64]) -> Vec<[u64; 3]> {
    (1..=matched.len())
        .map(|n| {
            let windows = |len: usize| (len + 1).saturating_sub(n) as u64;
            let ref_count = windows(ref_len);
            let hyp_count = if ref_count == 0 { 0 } else { windows(hyp_len) };
            [hyp_count, ref_count, matched[n - 1]]
        })
        .collect()
}

/// The clipped matches per order of [`char_match_stats`], with keys of type
/// `K` and `bits` bits per character (`id` maps each character to 1…2^bits − 1).
/// Compiled for AVX2 as well, taken where the processor has it: the
/// per-key update of eight 32-bit lanes is then one vector with a native
/// unsigned minimum (x86-64's baseline SSE2 has none, and its compiled
/// emulation was most of chrF's instructions per key).
fn grouped_matches<K: Key>(
    hyp: &[char],
    reference: &[char],
    order: usize,
    bits: u32,
    id: impl Fn(char) -> u32,
    keys: &mut Vec<K>,
) -> [u64; MAX_PACKED_CHAR_ORDER] {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has AVX2 (checked just above).
        return unsafe { grouped_matches_avx2(hyp, reference, order, bits, id, keys) };
    }
    grouped_matches_in::<K, ScalarLanes>(hyp, reference, order, bits, id, keys)
}

/// [`grouped_matches_in`] compiled for AVX2, with [`Avx2Lanes`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn grouped_matches_avx2<K: Key>(
    hyp: &[char],
    reference: &[char],
    order: usize,
    bits: u32,
    id: impl Fn(char) -> u32,
    keys: &mut Vec<K>,
) -> [u64; MAX_PACKED_CHAR_ORDER] {
    grouped_matches_in::<K, Avx2Lanes>(hyp, reference, order, bits, id, keys)
}

/// Lanes per order in [`GroupLanes`] (orders up to 8).
const LANES: usize = 8;
const _: () = assert!(MAX_PACKED_CHAR_ORDER <= LANES);

/// Per order (lane n for order n + 1; the lanes past the order asked for
/// never count anything): the current group's hypothesis and reference
/// counts, and the matches of the groups closed before it. Every key
/// updates every lane without a branch (loops over `common..order` and
/// `..length` branched on every key).
trait GroupLanes: Default {
    /// The next key: it shares `common` leading characters with the one
    /// before (the groups of orders above `common` close), it has `len`
    /// characters (it counts in orders up to `len`), on the reference side
    /// or not.
    fn update(&mut self, common: u32, len: u32, is_ref: bool);
    /// The clipped matches per order, every group closed.
    fn finish(self) -> [u64; LANES];
}

/// [`GroupLanes`] as plain arrays (the compiler vectorises what it can).
#[derive(Default)]
struct ScalarLanes {
    hyp: [u32; LANES],
    reference: [u32; LANES],
    matched: [u32; LANES],
}

impl GroupLanes for ScalarLanes {
    #[inline(always)]
    fn update(&mut self, common: u32, len: u32, is_ref: bool) {
        let is_ref = u32::from(is_ref);
        for n in 0..LANES {
            let lane = n as u32;
            // All ones where the group of this order goes on, else zero.
            let goes_on = u32::from(lane < common).wrapping_neg();
            self.matched[n] += self.hyp[n].min(self.reference[n]) & !goes_on;
            self.hyp[n] &= goes_on;
            self.reference[n] &= goes_on;
            let counted = u32::from(lane < len);
            self.hyp[n] += counted & (is_ref ^ 1);
            self.reference[n] += counted & is_ref;
        }
    }

    fn finish(self) -> [u64; LANES] {
        std::array::from_fn(|n| u64::from(self.matched[n] + self.hyp[n].min(self.reference[n])))
    }
}

/// [`GroupLanes`] as three AVX2 vectors of eight 32-bit lanes: an update is
/// a dozen instructions (x86-64's baseline has no unsigned minimum, and the
/// compiled arrays took about 80 a key).
#[cfg(target_arch = "x86_64")]
struct Avx2Lanes {
    hyp: std::arch::x86_64::__m256i,
    reference: std::arch::x86_64::__m256i,
    matched: std::arch::x86_64::__m256i,
}

#[cfg(target_arch = "x86_64")]
impl Default for Avx2Lanes {
    #[inline(always)]
    fn default() -> Self {
        // SAFETY: only built inside `grouped_matches_avx2` (AVX2 present).
        let zero = unsafe { std::arch::x86_64::_mm256_setzero_si256() };
        Avx2Lanes {
            hyp: zero,
            reference: zero,
            matched: zero,
        }
    }
}

#[cfg(target_arch = "x86_64")]
impl GroupLanes for Avx2Lanes {
    #[inline(always)]
    fn update(&mut self, common: u32, len: u32, is_ref: bool) {
        use std::arch::x86_64::*;
        // SAFETY: only used inside `grouped_matches_avx2` (AVX2 present).
        unsafe {
            let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            // All ones where lane < common (small values: a signed compare).
            let goes_on = _mm256_cmpgt_epi32(_mm256_set1_epi32(common as i32), lane);
            let closed = _mm256_min_epu32(self.hyp, self.reference);
            self.matched = _mm256_add_epi32(self.matched, _mm256_andnot_si256(goes_on, closed));
            self.hyp = _mm256_and_si256(self.hyp, goes_on);
            self.reference = _mm256_and_si256(self.reference, goes_on);
            // All ones where lane < len; subtracting all ones adds one.
            let counted = _mm256_cmpgt_epi32(_mm256_set1_epi32(len as i32), lane);
            let side = _mm256_set1_epi32(-i32::from(is_ref));
            self.hyp = _mm256_sub_epi32(self.hyp, _mm256_andnot_si256(side, counted));
            self.reference = _mm256_sub_epi32(self.reference, _mm256_and_si256(side, counted));
        }
    }

    #[inline(always)]
    fn finish(self) -> [u64; LANES] {
        use std::arch::x86_64::*;
        let mut out = [0u32; LANES];
        // SAFETY: only used inside `grouped_matches_avx2` (AVX2 present);
        // `out` has room for eight lanes.
        unsafe {
            let total = _mm256_add_epi32(self.matched, _mm256_min_epu32(self.hyp, self.reference));
            _mm256_storeu_si256(out.as_mut_ptr().cast(), total);
        }
        out.map(u64::from)
    }
}

/// The body of [`grouped_matches`], inlined into each of its versions, with
/// the lanes `L`.
#[inline(always)]
fn grouped_matches_in<K: Key, L: GroupLanes>(
    hyp: &[char],
    reference: &[char],
    order: usize,
    bits: u32,
    id: impl Fn(char) -> u32,
    keys: &mut Vec<K>,
) -> [u64; MAX_PACKED_CHAR_ORDER] {
    let top = bits * (order as u32 - 1);
    let zero = K::from(0);
    keys.clear();
    for (side, chars) in [(zero, hyp), (K::from(1), reference)] {
        // Right to left: a window is its first character and the next
        // window's first `order - 1` characters.
        let mut next = zero;
        let start = keys.len();
        for &c in chars.iter().rev() {
            next = (K::from(id(c)) << top) | (next >> bits);
            keys.push(next << 1 | side);
        }
        keys[start..].reverse();
    }
    keys.sort_unstable();
    // One pass over the sorted keys: a group of equal n-grams ends where
    // two neighbours share fewer than n leading characters.
    let unused = K::BITS - bits * order as u32;
    // `x / bits` for the bit counts below (x < 128) as a multiplication:
    // with `inverse` = ⌈2^16 / bits⌉, x · inverse / 2^16 exceeds x / bits by
    // less than 128 / 2^16 < 1 / bits, so the floor is exact. A division by
    // a run-time divisor, twice a key, was a tenth of the grouping.
    // (No characters at all: `bits` is 0 and there are no keys.)
    let inverse = 0x10000u32.div_ceil(bits.max(1));
    let chars_in = |x: u32| ((x * inverse) >> 16) as usize;
    let shared = |a: K, b: K| -> usize {
        let diff = (a ^ b) >> 1;
        if diff == zero {
            order
        } else {
            chars_in(diff.leading_zeros() - unused)
        }
    };
    let length = |key: K| -> usize {
        // Characters in the window: the trailing zero characters are past the end.
        let chars = key >> 1;
        order - chars_in(chars.trailing_zeros())
    };
    let one = K::from(1);
    let mut lanes = L::default();
    let mut previous = None;
    for &key in keys.iter() {
        let common = previous.map_or(0, |p| shared(p, key)) as u32;
        previous = Some(key);
        lanes.update(common, length(key) as u32, key & one != zero);
    }
    let matched = lanes.finish();
    std::array::from_fn(|n| matched[n])
}

/// Scratch space of [`word_match_stats`], reused by every pair a thread
/// scores.
#[derive(Default)]
struct WordScratch {
    vocab: TokenTable,
    ids: Vec<u32>,
    keys: Vec<u64>,
}

thread_local! {
    static WORDS: std::cell::RefCell<WordScratch> = std::cell::RefCell::default();
}

/// Bits per word id in [`word_match_stats`]' packed keys.
const WORD_BITS: u32 = 20;

/// The highest word order whose n-grams pack into a `u64` with a side bit.
const MAX_PACKED_WORD_ORDER: usize = (63 / WORD_BITS) as usize;

/// Per word order `1..=order`: the hypothesis' word n-grams, the
/// reference's, and the clipped matches, as sacrebleu's
/// `_get_match_statistics` counts them (the hypothesis count is zero when the
/// reference has no n-gram of that order). The words of the pair are
/// numbered; one sort of every window of both sides, tagged with its side,
/// groups equal n-grams of all orders, instead of a hash table per order and
/// side. Up to [`MAX_PACKED_WORD_ORDER`] (chrF++ uses 2) a window is one
/// integer key; above it, a slice of ids.
pub fn word_match_stats(hyp: &[&str], reference: &[&str], order: usize) -> Vec<[u64; 3]> {
    WORDS.with_borrow_mut(|scratch| {
        let WordScratch { vocab, ids, keys } = scratch;
        vocab.clear();
        ids.clear();
        for word in hyp.iter().chain(reference) {
            ids.push(vocab.id(word.as_bytes()));
        }
        let (h, r) = ids.split_at(hyp.len());
        let matched = if order <= MAX_PACKED_WORD_ORDER && vocab.len() < 1 << WORD_BITS {
            packed_word_matches(h, r, order, keys)
        } else {
            sliced_word_matches(h, r, order)
        };
        order_stats(hyp.len(), reference.len(), &matched)
    })
}

/// The clipped matches per order of [`word_match_stats`] with each window
/// packed into one key: its ids, [`WORD_BITS`] each (ids are never 0, so
/// windows of different orders never share a key), then the side bit.
fn packed_word_matches(
    hyp: &[u32],
    reference: &[u32],
    order: usize,
    keys: &mut Vec<u64>,
) -> Vec<u64> {
    keys.clear();
    for (side, ids) in [(0, hyp), (1, reference)] {
        for n in 1..=order {
            keys.extend(ids.windows(n).map(|w| {
                let packed = w
                    .iter()
                    .fold(0u64, |k, &id| (k << WORD_BITS) | u64::from(id));
                (packed << 1) | side
            }));
        }
    }
    keys.sort_unstable();
    let mut matched = vec![0u64; order];
    for group in keys.chunk_by(|a, b| a >> 1 == b >> 1) {
        let in_reference = group.iter().filter(|&&k| k & 1 == 1).count() as u64;
        let in_hyp = group.len() as u64 - in_reference;
        let bits = 64 - (group[0] >> 1).leading_zeros();
        matched[bits.div_ceil(WORD_BITS) as usize - 1] += in_hyp.min(in_reference);
    }
    matched
}

/// [`packed_word_matches`] for any order: windows as slices of ids.
fn sliced_word_matches(hyp: &[u32], reference: &[u32], order: usize) -> Vec<u64> {
    let mut keys: Vec<(&[u32], bool)> = Vec::with_capacity((hyp.len() + reference.len()) * order);
    for n in 1..=order {
        keys.extend(hyp.windows(n).map(|w| (w, false)));
        keys.extend(reference.windows(n).map(|w| (w, true)));
    }
    keys.sort_unstable();
    let mut matched = vec![0u64; order];
    for group in keys.chunk_by(|a, b| a.0 == b.0) {
        let in_reference = group.iter().filter(|(_, side)| *side).count() as u64;
        let in_hyp = group.len() as u64 - in_reference;
        matched[group[0].0.len() - 1] += in_hyp.min(in_reference);
    }
    matched
}

/// Character n-grams of order `n` of `chars` (a string and its char
/// boundaries), keyed by substrings.
pub fn char_ngrams<'s>(text: &'s str, boundaries: &[usize], n: usize) -> Counts<&'s str> {
    let chars = boundaries.len() - 1;
    let mut counts = counts_with_capacity(chars);
    if chars >= n {
        for i in 0..=chars - n {
            *counts
                .entry(&text[boundaries[i]..boundaries[i + n]])
                .or_insert(0) += 1;
        }
    }
    counts
}

/// Byte offsets of every char boundary of `text`, end included.
pub fn char_boundaries(text: &str) -> Vec<usize> {
    text.char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect()
}

/// Matched and total counts of `hyp` against `reference` (clipped).
pub fn clipped_matches<K: Hash + Eq>(hyp: &Counts<K>, reference: &Counts<K>) -> (u64, u64) {
    let mut matched = 0u64;
    let mut total = 0u64;
    for (ngram, &count) in hyp {
        total += count as u64;
        if let Some(&r) = reference.get(ngram) {
            matched += count.min(r) as u64;
        }
    }
    (matched, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// sacrebleu's n-gram statistics (of words or characters) the plain
    /// way: a table per order and side.
    fn counted<T: Clone + Eq + std::hash::Hash>(
        hyp: &[T],
        reference: &[T],
        order: usize,
    ) -> Vec<[u64; 3]> {
        let table = |items: &[T], n: usize| {
            let mut t: std::collections::HashMap<Vec<T>, u64> = Default::default();
            for w in items.windows(n) {
                *t.entry(w.to_vec()).or_default() += 1;
            }
            t
        };
        (1..=order)
            .map(|n| {
                let (h, r) = (table(hyp, n), table(reference, n));
                let matched = h
                    .iter()
                    .map(|(k, c)| (*c).min(*r.get(k).unwrap_or(&0)))
                    .sum();
                let hyp_count = if r.is_empty() { 0 } else { h.values().sum() };
                [hyp_count, r.values().sum(), matched]
            })
            .collect()
    }

    #[test]
    fn token_table_numbers_equal_bytes_equally_across_growth_and_clears() {
        let mut table = TokenTable::default();
        for round in 0..3 {
            // 1,000 distinct tokens (the table grows from 64 slots), each
            // seen twice; ids count from 1 in order of first sight.
            for i in 0..1000u32 {
                assert_eq!(table.id(format!("t{i}").as_bytes()), i + 1, "round {round}");
            }
            for i in (0..1000u32).rev() {
                assert_eq!(table.id(format!("t{i}").as_bytes()), i + 1);
            }
            assert_eq!(table.id(b""), 1001);
            assert_eq!(table.len(), 1001);
            table.clear();
            assert_eq!(table.len(), 0);
        }
    }

    #[test]
    fn token_table_tells_apart_tokens_that_differ_in_any_one_byte() {
        // Every length from 0 to 40 (tokens of up to 16 bytes are their key;
        // longer ones share their first 16 bytes), every one-byte change of
        // each, numbered through padded keys and through `id`: equal bytes
        // get equal ids, different bytes different ones.
        let mut table = TokenTable::default();
        let mut ids = std::collections::HashMap::new();
        for len in 0..=40usize {
            let base: Vec<u8> = (0..len).map(|k| b'a' + (k % 26) as u8).collect();
            let mut tokens = vec![base.clone()];
            for at in 0..len {
                for byte in [0u8, b'A', 0xFF] {
                    let mut token = base.clone();
                    token[at] = byte;
                    tokens.push(token);
                }
            }
            for (k, token) in tokens.iter().enumerate() {
                // Odd tokens through a padded text whose padding is not zero.
                let id = if k % 2 == 1 {
                    let mut text = b"xy".to_vec();
                    text.extend_from_slice(token);
                    text.extend_from_slice(&[0xAB; KEY_PADDING]);
                    let key = padded_key(&text, 2, token.len());
                    assert_eq!(key, token_key(token));
                    table.id_of(key, token)
                } else {
                    table.id(token)
                };
                assert_eq!(*ids.entry(token.clone()).or_insert(id), id, "{token:?}");
            }
        }
        let distinct: std::collections::HashSet<u32> = ids.values().copied().collect();
        assert_eq!(distinct.len(), ids.len());
        assert_eq!(table.len(), ids.len());
        for (token, id) in &ids {
            assert_eq!(table.id(token), *id, "{token:?} again");
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx2_lanes_count_as_the_scalar_lanes() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            return;
        }
        #[target_feature(enable = "avx2")]
        unsafe fn run(updates: &[(u32, u32, bool)]) -> [u64; LANES] {
            let mut lanes = Avx2Lanes::default();
            for &(common, len, is_ref) in updates {
                lanes.update(common, len, is_ref);
            }
            lanes.finish()
        }
        let mut state = 5u64;
        for round in 0..2000 {
            let updates: Vec<(u32, u32, bool)> = (0..round % 97)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let x = state >> 33;
                    ((x % 9) as u32, (x / 9 % 9) as u32, x / 81 % 2 == 1)
                })
                .collect();
            let mut scalar = ScalarLanes::default();
            for &(common, len, is_ref) in &updates {
                scalar.update(common, len, is_ref);
            }
            // SAFETY: AVX2 is present (checked above).
            assert_eq!(unsafe { run(&updates) }, scalar.finish(), "round {round}");
        }
    }

    #[test]
    fn char_match_stats_equal_counting_with_small_and_large_alphabets() {
        let mut state = 11u64;
        let mut draw = |below: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % below
        };
        let mut scratch = CharScratch::default();
        // Two empty texts: no characters, no ids.
        for order in 1..=MAX_PACKED_CHAR_ORDER {
            assert_eq!(
                char_match_stats(&[], &[], order, &mut scratch),
                counted::<char>(&[], &[], order)
            );
        }
        // 3 characters (ids of 2 bits), 40 (6 bits), and up to 5,000
        // distinct ones across the planes (past 64-bit keys: 128-bit ones).
        for (alphabet, length) in [(3u64, 12u64), (40, 60), (5000, 3000)] {
            for _ in 0..40 {
                let mut text = |len: u64| -> Vec<char> {
                    (0..draw(len + 1))
                        .map(|_| {
                            let k = draw(alphabet) as u32;
                            char::from_u32(if k.is_multiple_of(2) {
                                0x61 + k
                            } else {
                                0x1F300 + k
                            })
                            .unwrap()
                        })
                        .collect()
                };
                let (hyp, reference) = (text(length), text(length));
                for order in 1..=MAX_PACKED_CHAR_ORDER {
                    assert_eq!(
                        char_match_stats(&hyp, &reference, order, &mut scratch),
                        counted(&hyp, &reference, order),
                        "alphabet {alphabet}, order {order}"
                    );
                }
            }
        }
    }

    #[test]
    fn word_match_stats_equal_counting_per_order() {
        const VOCABULARY: [&str; 6] = ["a", "b", "c", "ab", "", "a b"];
        let mut state = 7u64;
        let mut words = |len: u64| -> Vec<&'static str> {
            (0..len)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    VOCABULARY[(state >> 33) as usize % VOCABULARY.len()]
                })
                .collect()
        };
        for len_h in 0..9 {
            for len_r in 0..9 {
                let (hyp, reference) = (words(len_h), words(len_r));
                // Orders up to 3 pack into integer keys, above as slices.
                for order in 1..=5 {
                    assert_eq!(
                        word_match_stats(&hyp, &reference, order),
                        counted(&hyp, &reference, order),
                        "{hyp:?} / {reference:?}, order {order}"
                    );
                }
            }
        }
    }
}
