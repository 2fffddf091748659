//! The graph policies that need the data: a stack ordered by its series' averages over
//! the graph's range, read through the rrdtool pool. The model itself stays pure.

use super::style::order_by_value;
use super::{Graph, Kind};
use crate::rrdtool::{Pool, RrdtoolError};

/// The average over the graph's range of each of its series (by label), read with one
/// `xport`; `None` for a series without any known value.
pub fn series_averages(pool: &Pool, graph: &Graph) -> Result<Vec<(String, Option<f64>)>, RrdtoolError> {
    let mut lines = graph.clone();
    lines.kind = Kind::Lines;
    lines.order.clear();
    let x = pool.xport(&lines)?;
    Ok(lines
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let known: Vec<f64> =
                x.rows.iter().filter_map(|(_, v)| v.get(i).copied().flatten()).filter(|v| v.is_finite()).collect();
            let avg = (!known.is_empty()).then(|| known.iter().sum::<f64>() / known.len() as f64);
            (s.label.clone(), avg)
        })
        .collect())
}

/// Orders a stack's series by their average over the graph's range, the largest at the
/// bottom ([`order_by_value`]); a graph that is not a stack of
/// several series, or already has an order, is left as it is.
pub fn order_stack_by_value(pool: &Pool, graph: &mut Graph) -> Result<(), RrdtoolError> {
    if !matches!(graph.kind, Kind::Stack { .. }) || graph.series.len() < 2 || !graph.order.is_empty() {
        return Ok(());
    }
    graph.order = order_by_value(&series_averages(pool, graph)?);
    Ok(())
}
