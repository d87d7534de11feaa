//! numpy's default random generator, bit for bit: `np.random.default_rng(seed)`
//! (SeedSequence → PCG64) and the two draws sacrebleu's paired tests make,
//! `rng.choice(n, size, replace=True)` and `rng.integers(2, size, dtype=bool)`.
//!
//! Written by hand because no crate reproduces numpy's SeedSequence mixing
//! and bounded-integer algorithms, and only the same stream gives the same
//! resamples (and so the same p-values) as sacrebleu for a given seed.

/// SeedSequence's hashing constants (numpy/random/bit_generator.pyx).
const INIT_A: u32 = 0x43b0_d7e5;
const MULT_A: u32 = 0x931e_8875;
const INIT_B: u32 = 0x8b51_f9dd;
const MULT_B: u32 = 0x58f3_8ded;
const MIX_MULT_L: u32 = 0xca01_f9dd;
const MIX_MULT_R: u32 = 0x4973_f715;
const XSHIFT: u32 = 16;
/// SeedSequence's pool size in 32-bit words.
const POOL_SIZE: usize = 4;
/// PCG64's 128-bit LCG multiplier.
const PCG_MULTIPLIER: u128 = 0x2360_ed05_1fc6_5da4_4385_df64_9fcc_f645;

/// `np.random.default_rng(seed)`: PCG64 seeded through a SeedSequence.
pub struct NumpyRng {
    state: u128,
    increment: u128,
    /// The upper half of the last 64-bit output, not yet used (numpy
    /// serves 32-bit draws from halves of 64-bit ones).
    spare_u32: Option<u32>,
}

impl NumpyRng {
    /// The generator `np.random.default_rng(seed)` returns.
    pub fn new(seed: u64) -> NumpyRng {
        let words = seed_sequence_state(seed);
        let initstate = (u128::from(words[0]) << 64) | u128::from(words[1]);
        let initseq = (u128::from(words[2]) << 64) | u128::from(words[3]);
        let mut rng = NumpyRng {
            state: 0,
            increment: (initseq << 1) | 1,
            spare_u32: None,
        };
        rng.step();
        rng.state = rng.state.wrapping_add(initstate);
        rng.step();
        rng
    }

    fn step(&mut self) {
        self.state = self
            .state
            .wrapping_mul(PCG_MULTIPLIER)
            .wrapping_add(self.increment);
    }

    /// PCG64's XSL-RR output of the next state.
    pub fn next_u64(&mut self) -> u64 {
        self.step();
        let hi = (self.state >> 64) as u64;
        let lo = self.state as u64;
        (hi ^ lo).rotate_right((hi >> 58) as u32)
    }

    fn next_u32(&mut self) -> u32 {
        if let Some(spare) = self.spare_u32.take() {
            return spare;
        }
        let next = self.next_u64();
        self.spare_u32 = Some((next >> 32) as u32);
        next as u32
    }

    /// One of `0..n` (n ≤ 2³²) by Lemire's method, as numpy's
    /// `buffered_bounded_lemire_uint32`.
    fn below(&mut self, n: u32) -> u32 {
        let rng = n - 1;
        if rng == u32::MAX {
            return self.next_u32();
        }
        let rng_excl = u64::from(n);
        let mut m = u64::from(self.next_u32()) * rng_excl;
        let mut leftover = m as u32;
        if u64::from(leftover) < rng_excl {
            let threshold = ((u32::MAX - rng) as u64 % rng_excl) as u32;
            while leftover < threshold {
                m = u64::from(self.next_u32()) * rng_excl;
                leftover = m as u32;
            }
        }
        (m >> 32) as u32
    }

    /// `rng.choice(n, size=count, replace=True)` for `n ≤ 2³²`: indices in
    /// `0..n`, row-major.
    pub fn choice(&mut self, n: usize, count: usize) -> Vec<u32> {
        assert!(n > 0 && n <= 1 << 32, "choice over {n} items");
        if n == 1 {
            return vec![0; count];
        }
        (0..count).map(|_| self.below(n as u32)).collect()
    }

    /// `rng.integers(2, size=count, dtype=bool)`: one bit of a 32-bit draw
    /// per value, lowest bit first.
    pub fn bools(&mut self, count: usize) -> Vec<bool> {
        let mut out = Vec::with_capacity(count);
        let mut buf = 0u32;
        let mut left = 0;
        for _ in 0..count {
            if left == 0 {
                buf = self.next_u32();
                left = 31;
            } else {
                buf >>= 1;
                left -= 1;
            }
            out.push(buf & 1 == 1);
        }
        out
    }
}

/// `SeedSequence(seed).generate_state(4, np.uint64)`.
fn seed_sequence_state(seed: u64) -> [u64; 4] {
    // The entropy as little-endian 32-bit words (one word when it fits).
    let entropy: Vec<u32> = if seed >> 32 == 0 {
        vec![seed as u32]
    } else {
        vec![seed as u32, (seed >> 32) as u32]
    };
    let mut hash_const = INIT_A;
    let mut hashmix = |value: u32| {
        let mut value = value ^ hash_const;
        hash_const = hash_const.wrapping_mul(MULT_A);
        value = value.wrapping_mul(hash_const);
        value ^ (value >> XSHIFT)
    };
    let mix = |x: u32, y: u32| {
        let result = MIX_MULT_L
            .wrapping_mul(x)
            .wrapping_sub(MIX_MULT_R.wrapping_mul(y));
        result ^ (result >> XSHIFT)
    };
    let mut pool = [0u32; POOL_SIZE];
    for (i, slot) in pool.iter_mut().enumerate() {
        *slot = hashmix(entropy.get(i).copied().unwrap_or(0));
    }
    for src in 0..POOL_SIZE {
        for dst in 0..POOL_SIZE {
            if src != dst {
                pool[dst] = mix(pool[dst], hashmix(pool[src]));
            }
        }
    }
    // (Entropy longer than the pool would be mixed in here; a u64 seed never is.)
    let mut hash_const = INIT_B;
    let mut words = [0u32; 8];
    for (i, word) in words.iter_mut().enumerate() {
        let mut value = pool[i % POOL_SIZE] ^ hash_const;
        hash_const = hash_const.wrapping_mul(MULT_B);
        value = value.wrapping_mul(hash_const);
        *word = value ^ (value >> XSHIFT);
    }
    std::array::from_fn(|i| u64::from(words[2 * i]) | (u64::from(words[2 * i + 1]) << 32))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values printed by numpy 2.4.6:
    //   rng = np.random.default_rng(12345)
    #[test]
    fn matches_numpy_default_rng() {
        let mut rng = NumpyRng::new(12345);
        assert_eq!(rng.next_u64(), EXPECTED_U64[0]);
        assert_eq!(rng.next_u64(), EXPECTED_U64[1]);
        let mut rng = NumpyRng::new(12345);
        assert_eq!(rng.choice(10, 12), EXPECTED_CHOICE);
        let mut rng = NumpyRng::new(12345);
        let bits: Vec<u8> = rng.bools(40).into_iter().map(u8::from).collect();
        assert_eq!(bits, EXPECTED_BOOLS);
        // A large range, another seed: rng = np.random.default_rng(7).
        assert_eq!(NumpyRng::new(7).choice(100_000, 3), [94490, 62509, 68417]);
    }

    const EXPECTED_U64: [u64; 2] = [4193609425186963869, 5843160025838961886];
    const EXPECTED_CHOICE: [u32; 12] = [6, 2, 7, 3, 2, 7, 6, 6, 9, 3, 8, 3];
    const EXPECTED_BOOLS: [u8; 40] = [
        1, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 0, 1, 1,
        0, 1, 1, 0, 1, 1, 0, 0, 0, 1,
    ];
}
