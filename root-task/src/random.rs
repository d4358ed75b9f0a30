//! The process server's random numbers: AT_RANDOM bytes, getrandom, /dev/urandom,
//! address-space randomisation.
//!
//! Source: xoshiro256** seeded through splitmix64 from the virtual counter (CNTVCT_EL0) at
//! boot, stirred again with the counter on every reseed. This is NOT cryptographically
//! secure: the counter at boot is predictable to within a few bits under emulation
//! (and exactly, under `-icount`). QEMU virt has no entropy device the root task drives
//! yet (virtio-rng would be the source); until then, stack canaries and getrandom get
//! unpredictability only against an attacker who cannot observe boot timing.

use linux_personality::fs::RandomSource;

/// The generator.
#[derive(Clone, Debug)]
pub struct Random {
    state: [u64; 4],
}

impl Random {
    /// Seeded from `seed` (the boot-time counter).
    pub fn new(seed: u64) -> Random {
        let mut mixer = seed;
        let mut state = [0u64; 4];
        for word in &mut state {
            *word = splitmix64(&mut mixer);
        }
        if state == [0; 4] {
            state[0] = 1;
        }
        Random { state }
    }

    /// Mixes more entropy in (the counter at an unpredictable moment, such as a syscall).
    pub fn stir(&mut self, value: u64) {
        let mut mixer = value ^ self.state[0];
        self.state[1] ^= splitmix64(&mut mixer);
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.state[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let shifted = self.state[1] << 17;
        self.state[2] ^= self.state[0];
        self.state[3] ^= self.state[1];
        self.state[1] ^= self.state[2];
        self.state[0] ^= self.state[3];
        self.state[2] ^= shifted;
        self.state[3] = self.state[3].rotate_left(45);
        result
    }

    /// A value in `0..bound` (bound > 0; 0 gives 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        self.next_u64() % bound
    }
}

impl RandomSource for Random {
    fn fill(&mut self, buffer: &mut [u8]) {
        for chunk in buffer.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
