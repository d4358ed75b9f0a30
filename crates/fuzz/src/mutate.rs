//! Byte-level mutations: bit flips, interesting bytes, boundary integers of each width,
//! arithmetic, range insertion, deletion, duplication and overwriting, splicing with
//! another corpus entry, and truncation. Several are stacked per input.

use crate::rng::Rng;
use crate::source::BOUNDARY_VALUES;

/// Bytes that often mean something: zero, one, sign bits, all-ones, ASCII edges.
const INTERESTING_BYTES: [u8; 12] = [
    0, 1, 2, 0x0f, 0x10, 0x20, 0x2f, 0x7f, 0x80, 0xfe, 0xff, b'/',
];

/// Applies between one and sixteen stacked mutations to `data`, drawing splice partners
/// from `corpus`, and keeps the result at most `max_length` bytes long.
pub fn mutate(rng: &mut Rng, data: &mut Vec<u8>, corpus: &[Vec<u8>], max_length: usize) {
    let rounds = 1 << rng.below(5);
    for _ in 0..rounds {
        mutate_once(rng, data, corpus, max_length);
    }
    data.truncate(max_length);
}

fn mutate_once(rng: &mut Rng, data: &mut Vec<u8>, corpus: &[Vec<u8>], max_length: usize) {
    if data.is_empty() {
        let length = 1 + rng.below(64);
        data.extend(rng.bytes(length));
        return;
    }
    match rng.below(13) {
        0 => {
            let index = rng.below(data.len());
            data[index] ^= 1 << rng.below(8);
        }
        1 => {
            let index = rng.below(data.len());
            data[index] = rng.pick(&INTERESTING_BYTES);
        }
        2 => {
            let index = rng.below(data.len());
            let delta = 1 + rng.byte() % 16;
            data[index] = if rng.one_in(2) {
                data[index].wrapping_add(delta)
            } else {
                data[index].wrapping_sub(delta)
            };
        }
        3 | 4 => write_boundary(rng, data),
        5 => add_to_word(rng, data),
        6 if data.len() < max_length => {
            let index = rng.below(data.len() + 1);
            let length = 1 + rng.below(32);
            let inserted = if rng.one_in(2) {
                rng.bytes(length)
            } else {
                vec![rng.pick(&INTERESTING_BYTES); length]
            };
            data.splice(index..index, inserted);
        }
        7 => {
            let start = rng.below(data.len());
            let length = 1 + rng.below((data.len() - start).min(64));
            data.drain(start..start + length);
        }
        8 if data.len() < max_length => {
            let (start, length) = range(rng, data.len());
            let copy = data[start..start + length].to_vec();
            let index = rng.below(data.len() + 1);
            data.splice(index..index, copy);
        }
        9 => {
            let (start, length) = range(rng, data.len());
            let copy = data[start..start + length].to_vec();
            let destination = rng.below(data.len() - length + 1);
            data[destination..destination + length].copy_from_slice(&copy);
        }
        10 if !corpus.is_empty() => splice(rng, data, corpus),
        11 => {
            let keep = rng.below(data.len());
            data.truncate(keep);
        }
        _ => {
            let (start, length) = range(rng, data.len());
            for byte in &mut data[start..start + length] {
                *byte = rng.byte();
            }
        }
    }
}

/// A non-empty range of at most 64 bytes inside a buffer of `length` > 0 bytes.
fn range(rng: &mut Rng, length: usize) -> (usize, usize) {
    let start = rng.below(length);
    let span = 1 + rng.below((length - start).min(64));
    (start, span)
}

/// Writes a boundary value as a 2-, 4- or 8-byte little-endian integer, usually at an
/// offset aligned to its width (where header fields live).
fn write_boundary(rng: &mut Rng, data: &mut [u8]) {
    let width = rng.pick(&[1_usize, 2, 4, 8]);
    if data.len() < width {
        return;
    }
    let mut offset = rng.below(data.len() - width + 1);
    if !rng.one_in(4) {
        offset -= offset % width;
    }
    let mut value = rng.pick(&BOUNDARY_VALUES);
    if rng.one_in(4) {
        // The narrower type's own extremes: 0x7fff, 0x8000 for 2 bytes, and so on.
        let bits = width as u32 * 8;
        value = match rng.below(3) {
            0 => (1_u64 << (bits - 1)).wrapping_sub(1),
            1 => 1_u64 << (bits - 1),
            _ => value >> (64 - bits),
        };
    }
    data[offset..offset + width].copy_from_slice(&value.to_le_bytes()[..width]);
}

/// Adds or subtracts a small amount to an aligned 4- or 8-byte little-endian word.
fn add_to_word(rng: &mut Rng, data: &mut [u8]) {
    let width = if rng.one_in(2) { 4 } else { 8 };
    if data.len() < width {
        return;
    }
    let offset = rng.below(data.len() / width) * width;
    let mut word = [0_u8; 8];
    word[..width].copy_from_slice(&data[offset..offset + width]);
    let value = u64::from_le_bytes(word);
    let delta = 1 + rng.below(64) as u64;
    let delta = if rng.one_in(3) { delta * 0x1000 } else { delta };
    let value = if rng.one_in(2) {
        value.wrapping_add(delta)
    } else {
        value.wrapping_sub(delta)
    };
    data[offset..offset + width].copy_from_slice(&value.to_le_bytes()[..width]);
}

/// Replaces the tail of `data` from a random point with the tail of a corpus entry from
/// another random point (crossover).
fn splice(rng: &mut Rng, data: &mut Vec<u8>, corpus: &[Vec<u8>]) {
    let other = &corpus[rng.below(corpus.len())];
    if other.is_empty() {
        return;
    }
    let cut = rng.below(data.len() + 1);
    let from = rng.below(other.len());
    data.truncate(cut);
    data.extend_from_slice(&other[from..]);
}

#[cfg(test)]
mod tests {
    use super::mutate;
    use crate::rng::Rng;

    #[test]
    fn mutations_change_inputs_and_respect_the_length_limit() {
        let mut rng = Rng::new(3);
        let seed = vec![0x41_u8; 100];
        let corpus = vec![vec![0x42_u8; 50]];
        let mut changed = 0;
        for _ in 0..1000 {
            let mut data = seed.clone();
            mutate(&mut rng, &mut data, &corpus, 128);
            assert!(data.len() <= 128);
            if data != seed {
                changed += 1;
            }
        }
        // A mutation can undo itself (two flips of one bit), but rarely.
        assert!(changed > 900, "only {changed} of 1000 inputs changed");
        let mut grown = 0;
        for _ in 0..100 {
            let mut empty = Vec::new();
            mutate(&mut rng, &mut empty, &[], 16);
            assert!(empty.len() <= 16);
            grown += usize::from(!empty.is_empty());
        }
        assert!(grown > 50, "an empty input grew only {grown} times in 100");
    }
}
