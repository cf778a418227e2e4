//! The CSV export: UTF-8 with a byte-order mark (so Excel reads Vietnamese correctly), a
//! localised header, one line per kept opinion in report order, written as the rows stream
//! in. Cells a spreadsheet would run as a formula are neutralised.

use std::io::Write;

use futures::TryStreamExt as _;

use super::{Input, Opinions, cells, header};
use crate::campaign::export::neutralise;

/// Writes the CSV to `out`; returns how many opinions it holds.
pub async fn write<W: Write>(
    input: &Input<'_>,
    mut opinions: Opinions<'_>,
    out: W,
) -> anyhow::Result<u64> {
    let mut out = out;
    out.write_all(b"\xEF\xBB\xBF")?;
    let mut w = ::csv::Writer::from_writer(out);
    w.write_record(header(input))?;
    let mut n = 0;
    while let Some(o) = opinions.try_next().await? {
        w.write_record(cells(input, &o).iter().map(|c| neutralise(c)))?;
        n += 1;
    }
    w.flush()?;
    Ok(n)
}
