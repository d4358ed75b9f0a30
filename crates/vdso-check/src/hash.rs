//! Item 5: DT_HASH (which musl needs, and whose nchain sizes the symbol table) and
//! DT_GNU_HASH (which glibc prefers and Go walks), each validated in full and against the
//! other: every symbol sits in the bucket its hash selects, every chain ends, and each
//! export is found by a lookup done the way the consumers do it.

use alloc::format;
use alloc::vec;

use object::elf;

use crate::check::Export;
use crate::dynamic::Dynamic;
use crate::image::{u32_at, u64_at, Image};
use crate::symbols::SymbolTable;
use crate::violation::{Property, Report};

pub(crate) fn check_sysv(
    image: &Image<'_>,
    dynamic: &Dynamic,
    table: &SymbolTable<'_>,
    report: &mut Report,
) {
    let Some(address) = dynamic.get(elf::DT_HASH) else {
        return; // reported as a missing tag
    };
    let count = table.symbols.len();
    let Some(header) = image.at_address(address, 8) else {
        return; // reported when the symbol table was read
    };
    let bucket_count = u32_at(header, 0).unwrap_or(0);
    if bucket_count == 0 {
        report.add(Property::SysvHash, "DT_HASH has no buckets".into());
        return;
    }
    let words = u64::from(bucket_count) + u64::try_from(count).unwrap_or(u64::MAX);
    let Some(body) = words
        .checked_mul(4)
        .and_then(|size| image.at_address(address.checked_add(8)?, size))
    else {
        report.add(
            Property::SysvHash,
            format!("DT_HASH ({bucket_count} buckets, {count} chains) extends outside the PT_LOAD"),
        );
        return;
    };
    let bucket = |index: usize| u32_at(body, index);
    let chain = |index: usize| u32_at(body, usize::try_from(bucket_count).ok()? + index);

    let mut reached = vec![false; count];
    for bucket_index in 0..bucket_count {
        let mut index = bucket(bucket_index as usize).unwrap_or(0);
        while index != 0 {
            let position = index as usize;
            let Some(symbol) = table.symbols.get(position) else {
                report.add(
                    Property::SysvHash,
                    format!("DT_HASH bucket {bucket_index} leads to symbol index {index}, beyond nchain {count}"),
                );
                break;
            };
            let name = symbol.display_name(position);
            if reached.get(position) == Some(&true) {
                report.add(
                    Property::SysvHash,
                    format!("DT_HASH chains reach {name} (index {index}) twice"),
                );
                break;
            }
            if let Some(slot) = reached.get_mut(position) {
                *slot = true;
            }
            if let Some(bytes) = symbol.name {
                let home = elf::hash(bytes) % bucket_count;
                if home != bucket_index {
                    report.add(
                        Property::SysvHash,
                        format!("{name} is in DT_HASH bucket {bucket_index}, but its hash selects bucket {home}"),
                    );
                }
            }
            index = chain(position).unwrap_or(0);
        }
    }
    for (index, symbol) in table.symbols.iter().enumerate().skip(1) {
        if reached.get(index) != Some(&true) {
            report.add(
                Property::SysvHash,
                format!(
                    "{} (index {index}) is not reachable through DT_HASH",
                    symbol.display_name(index)
                ),
            );
        }
    }
    // The lookup glibc and old loaders do: bucket, then chain, bounded by nchain steps.
    for export in Export::ALL {
        let name = export.name().as_bytes();
        let mut index = bucket((elf::hash(name) % bucket_count) as usize).unwrap_or(0);
        let mut found = false;
        for _ in 0..count {
            if index == 0 {
                break;
            }
            if table
                .symbols
                .get(index as usize)
                .and_then(|symbol| symbol.name)
                == Some(name)
            {
                found = true;
                break;
            }
            index = chain(index as usize).unwrap_or(0);
        }
        if !found && !table.find(export.name()).is_empty() {
            report.add(
                Property::SysvHash,
                format!("export {} is not found through DT_HASH", export.name()),
            );
        }
    }
}

pub(crate) fn check_gnu(
    image: &Image<'_>,
    dynamic: &Dynamic,
    table: &SymbolTable<'_>,
    report: &mut Report,
) {
    let Some(address) = dynamic.get(elf::DT_GNU_HASH) else {
        return; // reported as a missing tag
    };
    let count = table.symbols.len();
    let Some(header) = image.at_address(address, 16) else {
        report.add(
            Property::GnuHash,
            format!("DT_GNU_HASH header at {address:#x} is outside the PT_LOAD"),
        );
        return;
    };
    let field = |index| u32_at(header, index).unwrap_or(0);
    let (bucket_count, symbol_offset, bloom_size, bloom_shift) =
        (field(0), field(1), field(2), field(3));
    let mut fail = |message| report.add(Property::GnuHash, message);
    if bucket_count == 0 {
        fail("DT_GNU_HASH has no buckets".into());
        return;
    }
    if !bloom_size.is_power_of_two() {
        fail(format!("DT_GNU_HASH bloom filter has {bloom_size} words, not a power of two (glibc masks with it)"));
        return;
    }
    if bloom_shift >= 32 {
        fail(format!(
            "DT_GNU_HASH bloom shift {bloom_shift} is not below 32"
        ));
        return;
    }
    let symbol_offset = symbol_offset as usize;
    if symbol_offset == 0 || symbol_offset > count {
        fail(format!(
            "DT_GNU_HASH symoffset {symbol_offset} is outside 1..={count} (DT_HASH nchain)"
        ));
        return;
    }
    let chain_count = count - symbol_offset;
    let size = 16u64
        .checked_add(u64::from(bloom_size) * 8)
        .and_then(|size| size.checked_add(u64::from(bucket_count) * 4))
        .and_then(|size| size.checked_add(u64::try_from(chain_count).ok()? * 4));
    let Some(table_bytes) = size.and_then(|size| image.at_address(address, size)) else {
        fail(format!(
            "DT_GNU_HASH ({bloom_size} bloom words, {bucket_count} buckets, {chain_count} chains) extends outside the PT_LOAD"
        ));
        return;
    };
    let bloom_words = bloom_size as usize;
    let bloom = |index: usize| u64_at(table_bytes, 2 + index).unwrap_or(0);
    let bucket = |index: usize| u32_at(table_bytes, 4 + bloom_words * 2 + index).unwrap_or(0);
    let chain = |index: usize| {
        u32_at(
            table_bytes,
            4 + bloom_words * 2 + bucket_count as usize + index,
        )
    };

    let mut reached = vec![false; count];
    for bucket_index in 0..bucket_count {
        let start = bucket(bucket_index as usize) as usize;
        if start == 0 {
            continue;
        }
        if start < symbol_offset || start >= count {
            fail(format!(
                "DT_GNU_HASH bucket {bucket_index} starts at symbol index {start}, outside {symbol_offset}..{count}"
            ));
            continue;
        }
        let mut index = start;
        loop {
            let (Some(symbol), Some(value)) =
                (table.symbols.get(index), chain(index - symbol_offset))
            else {
                fail(format!("DT_GNU_HASH chain from bucket {bucket_index} runs past the last symbol without an end marker"));
                break;
            };
            let name = symbol.display_name(index);
            if reached.get(index) == Some(&true) {
                fail(format!(
                    "DT_GNU_HASH chains reach {name} (index {index}) twice"
                ));
                break;
            }
            if let Some(slot) = reached.get_mut(index) {
                *slot = true;
            }
            if let Some(bytes) = symbol.name {
                let hash = elf::gnu_hash(bytes);
                if value | 1 != hash | 1 {
                    fail(format!("DT_GNU_HASH chain entry for {name} is {value:#010x}, but its hash is {hash:#010x}"));
                }
                let home = hash % bucket_count;
                if home != bucket_index {
                    fail(format!(
                        "{name} is in DT_GNU_HASH bucket {bucket_index}, but its hash selects bucket {home}"
                    ));
                }
                let word = bloom(((hash / 64) % bloom_size) as usize);
                let bits = (1u64 << (hash % 64)) | (1u64 << ((hash >> bloom_shift) % 64));
                if word & bits != bits {
                    fail(format!("the DT_GNU_HASH bloom filter rejects {name}"));
                }
            }
            if value & 1 != 0 {
                break;
            }
            index += 1;
        }
    }
    for (index, symbol) in table.symbols.iter().enumerate() {
        let name = symbol.display_name(index);
        if index >= symbol_offset {
            if reached.get(index) != Some(&true) {
                fail(format!(
                    "{name} (index {index}) is not reachable through DT_GNU_HASH"
                ));
            }
        } else if index > 0 && symbol.is_defined() && symbol.binding() != elf::STB_LOCAL {
            fail(format!(
                "{name} (index {index}) is below DT_GNU_HASH's symoffset {symbol_offset}, so glibc and Go cannot find it"
            ));
        }
    }
    // Go's lookup: bucket, then compare chain values until the end bit (no bloom filter).
    for export in Export::ALL {
        let name = export.name().as_bytes();
        let hash = elf::gnu_hash(name);
        let mut index = bucket((hash % bucket_count) as usize) as usize;
        let mut found = false;
        while index >= symbol_offset {
            let Some(value) = chain(index - symbol_offset) else {
                break;
            };
            if value | 1 == hash | 1
                && table.symbols.get(index).and_then(|symbol| symbol.name) == Some(name)
            {
                found = true;
                break;
            }
            if value & 1 != 0 {
                break;
            }
            index += 1;
        }
        if !found && !table.find(export.name()).is_empty() {
            fail(format!(
                "export {} is not found through DT_GNU_HASH",
                export.name()
            ));
        }
    }
}
