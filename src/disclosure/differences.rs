//! Differences of two families' levels: where the units of two levels of different
//! families (wijken and PC4s, buurten and H3 res-8 cells) overlap, a set of units of one
//! level and a set of the other can hold the same addresses but for one overlap. Then
//! `Σ plus − Σ minus` is that overlap's count, from published figures only.
//!
//! Take the graph whose nodes are the units of the two levels and whose edges are the
//! overlaps that hold addresses. An edge whose removal splits its component (a bridge)
//! leaves two sides; on either side, the units of the bridge's own end add up to the units
//! of the other level on that side plus the bridge's overlap. Example (Venlo, 2025-Q4): two
//! wijken hold the addresses of two PC4 areas and of two PC6s of a third PC4; the two
//! wijken minus the two PC4s are those two PC6s, bounded by the four rounded counts to
//! 0..18 (issue 12, the last 2 of 1,715 fine cells below `k_fine`).
//!
//! Only the sides of 2 to [`SIDE`] units are kept: a larger side adds the rounding of every
//! unit on it to the attacker's interval.

use super::Level;
use ahash::{AHashMap, AHashSet};

/// The most units on one side of a difference that is kept.
pub const SIDE: usize = 16;

/// `Σ plus − Σ minus` is the count of one group of addresses (an overlap of two units of
/// different families), a relation every attacker with the public boundaries can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub plus: Vec<u32>,
    pub minus: Vec<u32>,
}

/// No unit at a level (its addresses lie outside every unit there): a node that is never
/// known, so a side holding it is no relation.
const NONE: u32 = u32::MAX;

/// Every difference of two levels of different families above the fine levels, from which
/// units each address belongs to (`memberships[a]`, at most one unit per level).
#[must_use]
pub fn differences(levels: &[Level], memberships: &[Vec<u32>]) -> Vec<Difference> {
    let coarse: Vec<Level> = Level::ALL.into_iter().filter(|l| !l.is_fine()).collect();
    let slot = |l: Level| coarse.iter().position(|&c| c == l);
    // The distinct combinations of coarse units (far fewer than addresses).
    let mut tuples: AHashSet<[u32; 7]> = AHashSet::new();
    for units in memberships {
        let mut t = [NONE; 7];
        for &u in units {
            if let Some(i) = slot(levels[u as usize]) {
                t[i] = u;
            }
        }
        tuples.insert(t);
    }
    let mut out = Vec::new();
    for (i, &a) in coarse.iter().enumerate() {
        for (j, &b) in coarse.iter().enumerate().skip(i + 1) {
            if super::Structure::family_top(a) == super::Structure::family_top(b) {
                continue;
            }
            let edges: AHashSet<(u32, u32)> = tuples
                .iter()
                .filter(|t| t[i] != NONE || t[j] != NONE)
                .map(|t| (t[i], t[j]))
                .collect();
            if edges.iter().any(|&(x, y)| x != NONE && y != NONE) {
                // The two NONE nodes are told apart by their side.
                let edges: Vec<(Node, Node)> = edges
                    .into_iter()
                    .map(|(x, y)| (Node::A(x), Node::B(y)))
                    .collect();
                bridge_sides(&edges, &mut out);
            }
        }
    }
    // In one order whatever the hash tables' order: disclosure control takes the relations
    // one by one and hides a count at the first that needs it, so their order decides which
    // count is hidden, and the same data must publish the same figures.
    out.sort_unstable_by(|a, b| (&a.plus, &a.minus).cmp(&(&b.plus, &b.minus)));
    out.dedup();
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Node {
    A(u32),
    B(u32),
}

impl Node {
    fn unit(self) -> u32 {
        match self {
            Node::A(u) | Node::B(u) => u,
        }
    }
}

/// For every bridge of the bipartite graph `edges`, the differences of its two sides.
fn bridge_sides(edges: &[(Node, Node)], out: &mut Vec<Difference>) {
    let mut index: AHashMap<Node, usize> = AHashMap::new();
    let mut nodes: Vec<Node> = Vec::new();
    let mut id = |x: Node| {
        *index.entry(x).or_insert_with(|| {
            nodes.push(x);
            nodes.len() - 1
        })
    };
    let pairs: Vec<(usize, usize)> = edges.iter().map(|&(x, y)| (id(x), id(y))).collect();
    let n = nodes.len();
    // Adjacency (CSR), each entry (neighbour, edge).
    let mut start = vec![0usize; n + 1];
    for &(x, y) in &pairs {
        start[x + 1] += 1;
        start[y + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut adj = vec![(0usize, 0usize); start[n]];
    for (e, &(x, y)) in pairs.iter().enumerate() {
        adj[fill[x]] = (y, e);
        fill[x] += 1;
        adj[fill[y]] = (x, e);
        fill[y] += 1;
    }
    // Iterative depth-first search: preorder number, low link, subtree size.
    const UNSEEN: usize = usize::MAX;
    let mut pre = vec![UNSEEN; n];
    let mut low = vec![0usize; n];
    let mut size = vec![1usize; n];
    let mut order: Vec<usize> = Vec::with_capacity(n);
    let mut tree_parent = vec![UNSEEN; n];
    for root in 0..n {
        if pre[root] != UNSEEN {
            continue;
        }
        let component_start = order.len();
        // (node, edge it was reached by, next adjacency position)
        let mut stack: Vec<(usize, usize, usize)> = vec![(root, UNSEEN, start[root])];
        pre[root] = order.len();
        low[root] = pre[root];
        order.push(root);
        let mut bridges: Vec<usize> = Vec::new();
        while let Some(&mut (v, via, ref mut next)) = stack.last_mut() {
            if *next < start[v + 1] {
                let (w, e) = adj[*next];
                *next += 1;
                if e == via {
                    continue;
                }
                if pre[w] == UNSEEN {
                    pre[w] = order.len();
                    low[w] = pre[w];
                    order.push(w);
                    tree_parent[w] = v;
                    stack.push((w, e, start[w]));
                } else {
                    low[v] = low[v].min(pre[w]);
                }
            } else {
                stack.pop();
                if let Some(&(p, _, _)) = stack.last() {
                    low[p] = low[p].min(low[v]);
                    size[p] += size[v];
                    if low[v] > pre[p] {
                        bridges.push(v);
                    }
                }
            }
        }
        let component = &order[component_start..];
        for c in bridges {
            let inside = pre[c]..pre[c] + size[c];
            let side_c: Vec<usize> = order[inside.clone()].to_vec();
            if (2..=SIDE).contains(&side_c.len()) {
                push_side(&nodes, &side_c, nodes[c], out);
            }
            let rest = component.len() - side_c.len();
            if (2..=SIDE).contains(&rest) {
                let side_p: Vec<usize> = component
                    .iter()
                    .copied()
                    .filter(|&x| !inside.contains(&pre[x]))
                    .collect();
                push_side(&nodes, &side_p, nodes[tree_parent[c]], out);
            }
        }
    }
}

/// The difference of one side of a bridge: the units of the bridge end's level on it, minus
/// the others. None when the side holds addresses outside every unit of a level.
fn push_side(nodes: &[Node], side: &[usize], end: Node, out: &mut Vec<Difference>) {
    if side.iter().any(|&x| nodes[x].unit() == NONE) {
        return;
    }
    let (mut plus, mut minus) = (Vec::new(), Vec::new());
    for &x in side {
        let same = matches!(
            (nodes[x], end),
            (Node::A(_), Node::A(_)) | (Node::B(_), Node::B(_))
        );
        if same {
            plus.push(nodes[x].unit());
        } else {
            minus.push(nodes[x].unit());
        }
    }
    plus.sort_unstable();
    minus.sort_unstable();
    out.push(Difference { plus, minus });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Forty wijken and forty-one PC4s in a chain (wijk i holds addresses of PC4 i and PC4
    /// i + 1): many bridges. Each call builds its hash tables afresh, with other keys.
    #[test]
    fn the_differences_come_in_one_order_whatever_the_hash_tables_order() {
        let mut levels = vec![Level::Gemeente];
        levels.extend([Level::Wijk; 40]);
        levels.extend([Level::Pc4; 41]);
        let memberships: Vec<Vec<u32>> = (0..40u32)
            .flat_map(|i| [vec![0, 1 + i, 41 + i], vec![0, 1 + i, 42 + i]])
            .collect();
        let first = differences(&levels, &memberships);
        assert!(first.len() >= 30, "{}", first.len());
        for _ in 0..5 {
            assert_eq!(differences(&levels, &memberships), first);
        }
    }

    /// Two wijken (10, 11) and three PC4s (20, 21, 22): wijk 10 holds PC4 20 and one
    /// address of PC4 22; wijk 11 holds PC4 21 and the rest of PC4 22.
    #[test]
    fn two_wijken_minus_the_pc4s_they_fill_are_the_overlap_left() {
        let mut levels = vec![Level::Gemeente; 30];
        levels[10] = Level::Wijk;
        levels[11] = Level::Wijk;
        levels[20..23].fill(Level::Pc4);
        let memberships = vec![
            vec![0, 10, 20],
            vec![0, 10, 22],
            vec![0, 11, 21],
            vec![0, 11, 22],
        ];
        let d = differences(&levels, &memberships);
        // The wijk–PC4 graph is the path 20 – 10 – 22 – 11 – 21: every edge is a bridge.
        // Removing (10, 22) leaves {20, 10}: wijk 10 minus PC4 20 is the overlap of wijk 10
        // and PC4 22.
        assert!(d.contains(&Difference {
            plus: vec![10],
            minus: vec![20]
        }));
        // and {22, 11, 21}: PC4 21 plus PC4 22 minus wijk 11 is that overlap too.
        assert!(d.contains(&Difference {
            plus: vec![21, 22],
            minus: vec![11]
        }));
        for x in &d {
            let count = |u: u32| memberships.iter().filter(|m| m.contains(&u)).count();
            let v: i64 = x.plus.iter().map(|&u| count(u) as i64).sum::<i64>()
                - x.minus.iter().map(|&u| count(u) as i64).sum::<i64>();
            assert!(v >= 1, "{x:?} is not the count of a group: {v}");
        }
    }
}
