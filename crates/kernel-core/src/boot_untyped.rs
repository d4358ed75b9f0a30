//! Boot-time planning of untyped memory: which physical ranges are free, and how seL4
//! cuts them into naturally aligned power-of-two untyped blocks.

/// A physical address range `[start, end)`; empty when `end <= start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PhysRange {
    pub start: u64,
    pub end: u64,
}

impl PhysRange {
    pub const fn new(start: u64, end: u64) -> Self {
        Self { start, end }
    }

    pub const fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// Bytes in the range (0 when empty).
    pub const fn size(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }
}

/// One untyped block: `[paddr, paddr + 2^size_bits)`, `paddr` a multiple of the size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UntypedBlock {
    pub paddr: u64,
    pub size_bits: u32,
}

/// Calls `emit` with each part of the `ram` ranges not covered by any `reserved` range,
/// in ascending order within each RAM range. Reserved ranges may overlap each other,
/// extend past RAM, be empty or be unsorted; nothing needs the heap.
pub fn for_each_free_range(
    ram: &[PhysRange],
    reserved: &[PhysRange],
    mut emit: impl FnMut(PhysRange),
) {
    for region in ram.iter().filter(|region| !region.is_empty()) {
        let mut cursor = region.start;
        while cursor < region.end {
            // The reserved range that starts lowest among those still ahead of the cursor.
            let next_reserved = reserved
                .iter()
                .filter(|range| !range.is_empty() && range.end > cursor && range.start < region.end)
                .min_by_key(|range| range.start);
            match next_reserved {
                None => {
                    emit(PhysRange::new(cursor, region.end));
                    break;
                }
                Some(range) => {
                    if range.start > cursor {
                        emit(PhysRange::new(cursor, range.start));
                    }
                    cursor = range.end;
                }
            }
        }
    }
}

/// Cuts `range` into untyped blocks the way seL4's boot code does: from the bottom up,
/// each block as large as both the remaining length and the alignment of its start allow
/// (capped at `sel4::MAX_UNTYPED_BITS`). Pieces smaller than `sel4::MIN_UNTYPED_BITS`
/// (only possible at a start or end not aligned to 16 bytes) are skipped, as in seL4.
///
/// A range below 2^48 yields at most `2 * (MAX_UNTYPED_BITS - MIN_UNTYPED_BITS + 1)`
/// blocks plus one per 2^47 bytes of length.
pub fn for_each_untyped_block(range: PhysRange, mut emit: impl FnMut(UntypedBlock)) {
    let mut start = range.start;
    while start < range.end {
        let length = range.end - start;
        let mut size_bits = (u64::BITS - 1 - length.leading_zeros()).min(sel4::MAX_UNTYPED_BITS);
        if start != 0 {
            size_bits = size_bits.min(start.trailing_zeros());
        }
        if size_bits >= sel4::MIN_UNTYPED_BITS {
            emit(UntypedBlock {
                paddr: start,
                size_bits,
            });
        }
        match start.checked_add(1 << size_bits) {
            Some(next) => start = next,
            None => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn free_ranges(ram: &[PhysRange], reserved: &[PhysRange]) -> Vec<PhysRange> {
        let mut out = Vec::new();
        for_each_free_range(ram, reserved, |range| out.push(range));
        out
    }

    fn blocks(range: PhysRange) -> Vec<UntypedBlock> {
        let mut out = Vec::new();
        for_each_untyped_block(range, |block| out.push(block));
        out
    }

    fn range(start: u64, end: u64) -> PhysRange {
        PhysRange::new(start, end)
    }

    /// Checks blocks are aligned, in bounds, in size range, ascending and disjoint, and
    /// returns the bytes they cover.
    fn check_blocks(range: PhysRange, blocks: &[UntypedBlock]) -> u64 {
        let mut cursor = range.start;
        let mut covered = 0;
        for block in blocks {
            assert!((sel4::MIN_UNTYPED_BITS..=sel4::MAX_UNTYPED_BITS).contains(&block.size_bits));
            let size = 1u64 << block.size_bits;
            assert_eq!(block.paddr % size, 0, "{block:?} misaligned");
            assert!(
                block.paddr >= cursor,
                "{block:?} overlaps or is out of order"
            );
            let end = block.paddr + size;
            assert!(end <= range.end, "{block:?} past {range:?}");
            cursor = end;
            covered += size;
        }
        covered
    }

    #[test]
    fn subtracting_reserved_ranges() {
        let ram = [range(0x4000_0000, 0x8000_0000)];
        assert_eq!(free_ranges(&ram, &[]), ram.to_vec());
        // Unsorted, overlapping, partly outside RAM, one empty.
        let reserved = [
            range(0x4020_0000, 0x4040_0000),
            range(0x3000_0000, 0x4000_1000),
            range(0x4030_0000, 0x4050_0000),
            range(0x5000_0000, 0x5000_0000),
            range(0x7fff_f000, 0x9000_0000),
        ];
        assert_eq!(
            free_ranges(&ram, &reserved),
            vec![
                range(0x4000_1000, 0x4020_0000),
                range(0x4050_0000, 0x7fff_f000)
            ]
        );
        // Everything reserved.
        assert_eq!(free_ranges(&ram, &[range(0, u64::MAX)]), vec![]);
        // Several RAM ranges, one empty.
        let ram = [range(0x1000, 0x3000), range(5, 5), range(0x8000, 0x9000)];
        assert_eq!(
            free_ranges(&ram, &[range(0x2000, 0x8800)]),
            vec![range(0x1000, 0x2000), range(0x8800, 0x9000)]
        );
    }

    #[test]
    fn free_ranges_partition_ram_minus_reserved() {
        // Byte-exact check on a small space: each byte is free iff in RAM and not reserved.
        let ram = [range(16, 200), range(300, 400)];
        let reserved = [
            range(0, 20),
            range(50, 60),
            range(55, 90),
            range(199, 310),
            range(390, 1000),
        ];
        let free = free_ranges(&ram, &reserved);
        for byte in 0..1000u64 {
            let in_ram = ram.iter().any(|r| (r.start..r.end).contains(&byte));
            let in_reserved = reserved.iter().any(|r| (r.start..r.end).contains(&byte));
            let in_free = free
                .iter()
                .filter(|r| (r.start..r.end).contains(&byte))
                .count();
            assert_eq!(in_free, usize::from(in_ram && !in_reserved), "byte {byte}");
        }
    }

    #[test]
    fn qemu_virt_ram_becomes_aligned_blocks_covering_everything() {
        let range = range(0x4060_3000, 0x8000_0000);
        let blocks = blocks(range);
        assert_eq!(check_blocks(range, &blocks), range.size());
        // Blocks grow with the alignment of their start until the end of RAM caps them.
        assert_eq!(
            blocks.first(),
            Some(&UntypedBlock {
                paddr: 0x4060_3000,
                size_bits: 12
            })
        );
        assert_eq!(
            blocks.last(),
            Some(&UntypedBlock {
                paddr: 0x6000_0000,
                size_bits: 29
            })
        );
    }

    #[test]
    fn block_coverage_exact_for_16_byte_aligned_ranges() {
        let mut state = 0x1234_5678_9abc_def1u64;
        for _ in 0..2000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let start = (state % (1 << 40)) & !0xf;
            let length = (state.rotate_left(23) % (1 << 36)) & !0xf;
            let range = range(start, start + length);
            let blocks = blocks(range);
            assert_eq!(check_blocks(range, &blocks), length, "{range:?}");
            let bound = 2 * (sel4::MAX_UNTYPED_BITS - sel4::MIN_UNTYPED_BITS + 1) as usize;
            assert!(
                blocks.len() <= bound,
                "{} blocks for {range:?}",
                blocks.len()
            );
        }
    }

    #[test]
    fn unaligned_edges_are_skipped() {
        let span = range(0x1003, 0x2009);
        let cut = blocks(span);
        // Only the 16-byte-aligned interior [0x1010, 0x2000) is usable.
        assert_eq!(check_blocks(span, &cut), 0x2000 - 0x1010);
        assert!(cut
            .iter()
            .all(|block| block.paddr >= 0x1010 && block.paddr < 0x2000));
        // Too small to hold any untyped.
        assert_eq!(blocks(range(0x10, 0x1f)), vec![]);
    }

    #[test]
    fn huge_ranges_are_capped_at_max_untyped_bits() {
        let span = range(0, 1 << 49);
        let cut = blocks(span);
        assert_eq!(check_blocks(span, &cut), 1 << 49);
        assert_eq!(cut.len(), 4);
        assert!(cut
            .iter()
            .all(|block| block.size_bits == sel4::MAX_UNTYPED_BITS));
        // Ranges at the very top of the address space terminate.
        let top = range(u64::MAX - 0xfff, u64::MAX);
        assert_eq!(check_blocks(top, &blocks(top)), 0x1000 - 0x10);
        assert!(range(5, 3).is_empty());
        assert_eq!(range(5, 3).size(), 0);
    }
}
