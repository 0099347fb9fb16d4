//! The dependency graph between transactions: edges of five kinds in
//! compressed sparse rows, strongly connected components (Tarjan,
//! iterative), and shortest witness cycles of a given shape (BFS).

/// `Ti` wrote a version and `Tj` wrote the next one (write-write).
pub(crate) const WW: u8 = 1;
/// `Tj` read what `Ti` wrote (write-read).
pub(crate) const WR: u8 = 1 << 1;
/// `Ti` read a version that `Tj` overwrote (read-write, anti-dependency).
pub(crate) const RW: u8 = 1 << 2;
/// `Ti` and `Tj` ran on the same process, `Ti` first.
pub(crate) const PROCESS: u8 = 1 << 3;
/// `Ti` completed before `Tj` was invoked.
pub(crate) const REALTIME: u8 = 1 << 4;
/// The data dependencies.
pub(crate) const DATA: u8 = WW | WR | RW;

/// The name of one edge kind (`ww`, `wr`, `rw`, `process`, `realtime`).
pub(crate) fn kind_name(kind: u8) -> &'static str {
    match kind {
        WW => "ww",
        WR => "wr",
        RW => "rw",
        PROCESS => "process",
        _ => "realtime",
    }
}

/// Edges gathered while a history is read.
#[derive(Debug, Default)]
pub(crate) struct EdgeList {
    pub(crate) edges: Vec<(u32, u32, u8)>,
}

impl EdgeList {
    pub(crate) fn add(&mut self, from: u32, to: u32, kind: u8) {
        if from != to {
            self.edges.push((from, to, kind));
        }
    }
}

/// A directed multigraph in compressed sparse rows.
#[derive(Debug)]
pub(crate) struct Graph {
    offsets: Vec<u32>,
    targets: Vec<u32>,
    kinds: Vec<u8>,
}

impl Graph {
    /// Builds the graph over `nodes` nodes, keeping edges whose kind is in
    /// `mask` (a counting sort: linear in nodes + edges).
    pub(crate) fn build<const N: usize>(
        nodes: usize,
        lists: [&[(u32, u32, u8)]; N],
        mask: u8,
    ) -> Self {
        let mut offsets = vec![0u32; nodes + 1];
        for &(from, _, kind) in lists.iter().flat_map(|l| l.iter()) {
            if kind & mask != 0 {
                offsets[from as usize + 1] += 1;
            }
        }
        for i in 0..nodes {
            offsets[i + 1] += offsets[i];
        }
        let total = offsets[nodes] as usize;
        let mut next = offsets.clone();
        let mut targets = vec![0u32; total];
        let mut kinds = vec![0u8; total];
        for &(from, to, kind) in lists.iter().flat_map(|l| l.iter()) {
            if kind & mask != 0 {
                let slot = &mut next[from as usize];
                targets[*slot as usize] = to;
                kinds[*slot as usize] = kind;
                *slot += 1;
            }
        }
        Self {
            offsets,
            targets,
            kinds,
        }
    }

    pub(crate) fn nodes(&self) -> usize {
        self.offsets.len() - 1
    }

    pub(crate) fn edges(&self) -> usize {
        self.targets.len()
    }

    fn out(&self, node: u32) -> impl Iterator<Item = (u32, u8)> + '_ {
        let (a, b) = (
            self.offsets[node as usize] as usize,
            self.offsets[node as usize + 1] as usize,
        );
        self.targets[a..b]
            .iter()
            .copied()
            .zip(self.kinds[a..b].iter().copied())
    }

    /// The kinds of all edges from `from` to `to`, or-ed.
    pub(crate) fn kinds_between(&self, from: u32, to: u32) -> u8 {
        self.out(from)
            .filter(|&(t, _)| t == to)
            .fold(0, |acc, (_, k)| acc | k)
    }

    /// Strongly connected components with more than one node, over the
    /// `nodes` given (all nodes when `None`) and edges of kinds in `mask`.
    /// Leaves `nodes` as the current set of `scratch.member`.
    pub(crate) fn sccs(
        &self,
        nodes: Option<&[u32]>,
        mask: u8,
        scratch: &mut Scratch,
    ) -> Vec<Vec<u32>> {
        let Scratch { member, tarjan, .. } = scratch;
        tarjan.reset();
        let stamp = member.stamp(nodes);
        match nodes {
            Some(nodes) => {
                for &root in nodes {
                    if tarjan.index[root as usize] == UNVISITED {
                        tarjan.run(self, root, mask, |n| member.contains(n, stamp));
                    }
                }
            }
            None => {
                for root in 0..self.nodes() as u32 {
                    if tarjan.index[root as usize] == UNVISITED {
                        tarjan.run(self, root, mask, |_| true);
                    }
                }
            }
        }
        std::mem::take(&mut tarjan.components)
    }

    /// The shortest path from `from` to `to` over edges of kinds in `mask`
    /// through nodes in `member`'s current set; nodes in order, both ends
    /// included.
    pub(crate) fn shortest_path(
        &self,
        from: u32,
        to: u32,
        mask: u8,
        member: &Membership,
        scratch: &mut Bfs,
    ) -> Option<Vec<u32>> {
        scratch.generation += 1;
        let generation = scratch.generation;
        scratch.queue.clear();
        scratch.queue.push(from);
        scratch.seen[from as usize] = generation;
        let mut head = 0;
        while head < scratch.queue.len() {
            let node = scratch.queue[head];
            head += 1;
            scratch.visits += 1;
            for (next, kind) in self.out(node) {
                if kind & mask == 0
                    || scratch.seen[next as usize] == generation
                    || !member.contains(next, member.current)
                {
                    continue;
                }
                scratch.seen[next as usize] = generation;
                scratch.parent[next as usize] = node;
                if next == to {
                    let mut path = vec![to];
                    let mut at = to;
                    while at != from {
                        at = scratch.parent[at as usize];
                        path.push(at);
                    }
                    path.reverse();
                    return Some(path);
                }
                scratch.queue.push(next);
            }
        }
        None
    }

    /// Edges of kinds in `kind` between members of the current set.
    pub(crate) fn edges_within(
        &self,
        nodes: &[u32],
        kind: u8,
        member: &Membership,
    ) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        for &n in nodes {
            for (t, k) in self.out(n) {
                if k & kind != 0 && member.contains(t, member.current) {
                    out.push((n, t));
                }
            }
        }
        out
    }
}

/// Which nodes a search may use, by generation stamp (no clearing).
#[derive(Debug)]
pub(crate) struct Membership {
    stamps: Vec<u32>,
    next: u32,
    current: u32,
}

impl Membership {
    pub(crate) fn new(nodes: usize) -> Self {
        Self {
            stamps: vec![0; nodes],
            next: 1,
            current: 0,
        }
    }

    /// Makes `nodes` the current set (`None`: every node) and returns its stamp.
    pub(crate) fn stamp(&mut self, nodes: Option<&[u32]>) -> u32 {
        match nodes {
            None => {
                self.current = u32::MAX;
            }
            Some(nodes) => {
                self.next += 1;
                self.current = self.next;
                for &n in nodes {
                    self.stamps[n as usize] = self.current;
                }
            }
        }
        self.current
    }

    fn contains(&self, node: u32, stamp: u32) -> bool {
        stamp == u32::MAX || self.stamps[node as usize] == stamp
    }
}

/// Reusable search state over one graph: sized once, reset by what was
/// touched, so many small searches cost what they visit.
#[derive(Debug)]
pub(crate) struct Scratch {
    pub(crate) member: Membership,
    pub(crate) bfs: Bfs,
    tarjan: Tarjan,
}

impl Scratch {
    pub(crate) fn new(nodes: usize) -> Self {
        Self {
            member: Membership::new(nodes),
            bfs: Bfs::new(nodes),
            tarjan: Tarjan::new(nodes),
        }
    }
}

/// Scratch space for breadth-first searches.
#[derive(Debug)]
pub(crate) struct Bfs {
    /// Nodes dequeued by all searches so far (the work done).
    pub(crate) visits: u64,
    seen: Vec<u32>,
    parent: Vec<u32>,
    queue: Vec<u32>,
    generation: u32,
}

impl Bfs {
    pub(crate) fn new(nodes: usize) -> Self {
        Self {
            visits: 0,
            seen: vec![0; nodes],
            parent: vec![0; nodes],
            queue: Vec::new(),
            generation: 0,
        }
    }
}

const UNVISITED: u32 = u32::MAX;

#[derive(Debug)]
struct Tarjan {
    index: Vec<u32>,
    visited: Vec<u32>,
    low: Vec<u32>,
    on_stack: Vec<bool>,
    stack: Vec<u32>,
    next_index: u32,
    components: Vec<Vec<u32>>,
}

impl Tarjan {
    fn new(nodes: usize) -> Self {
        Self {
            index: vec![UNVISITED; nodes],
            visited: Vec::new(),
            low: vec![0; nodes],
            on_stack: vec![false; nodes],
            stack: Vec::new(),
            next_index: 0,
            components: Vec::new(),
        }
    }

    fn reset(&mut self) {
        for &n in &self.visited {
            self.index[n as usize] = UNVISITED;
        }
        self.visited.clear();
        self.components.clear();
        self.next_index = 0;
    }

    fn visit(&mut self, n: u32) {
        self.visited.push(n);
        self.index[n as usize] = self.next_index;
        self.low[n as usize] = self.next_index;
        self.next_index += 1;
        self.stack.push(n);
        self.on_stack[n as usize] = true;
    }

    /// Iterative Tarjan from `root`: a call stack of (node, next edge slot).
    fn run(&mut self, g: &Graph, root: u32, mask: u8, allowed: impl Fn(u32) -> bool) {
        let mut calls: Vec<(u32, usize)> = vec![(root, g.offsets[root as usize] as usize)];
        self.visit(root);
        while let Some(&mut (node, ref mut slot)) = calls.last_mut() {
            let end = g.offsets[node as usize + 1] as usize;
            if *slot < end {
                let (next, kind) = (g.targets[*slot], g.kinds[*slot]);
                *slot += 1;
                if kind & mask == 0 || !allowed(next) {
                    continue;
                }
                if self.index[next as usize] == UNVISITED {
                    self.visit(next);
                    calls.push((next, g.offsets[next as usize] as usize));
                } else if self.on_stack[next as usize] {
                    let low = self.low[node as usize].min(self.index[next as usize]);
                    self.low[node as usize] = low;
                }
                continue;
            }
            calls.pop();
            if let Some(&(parent, _)) = calls.last() {
                let low = self.low[parent as usize].min(self.low[node as usize]);
                self.low[parent as usize] = low;
            }
            if self.low[node as usize] == self.index[node as usize] {
                let mut component = Vec::new();
                while let Some(m) = self.stack.pop() {
                    self.on_stack[m as usize] = false;
                    component.push(m);
                    if m == node {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.reverse();
                    self.components.push(component);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_components_and_the_shortest_cycle_inside() {
        // 0 → 1 → 2 → 0 (a cycle), 2 → 3 → 4 → 3 (another), 5 alone.
        let edges = [
            (0, 1, WW),
            (1, 2, WR),
            (2, 0, RW),
            (2, 3, WW),
            (3, 4, WW),
            (4, 3, WR),
        ];
        let g = Graph::build(6, [&edges[..]], DATA);
        let mut scratch = Scratch::new(6);
        let mut sccs = g.sccs(None, DATA, &mut scratch);
        sccs.iter_mut().for_each(|c| c.sort_unstable());
        sccs.sort();
        assert_eq!(sccs, vec![vec![0, 1, 2], vec![3, 4]]);
        assert!(
            g.sccs(None, WW | WR, &mut scratch)
                .iter()
                .all(|c| c == &vec![3, 4] || c == &vec![4, 3]),
            "no rw, no first cycle"
        );
        let sub = g.sccs(Some(&[0, 1, 2]), DATA, &mut scratch);
        assert_eq!(sub.len(), 1);
        let Scratch { member, bfs, .. } = &mut scratch;
        assert_eq!(
            g.shortest_path(0, 2, DATA, member, bfs),
            Some(vec![0, 1, 2])
        );
        assert_eq!(
            g.shortest_path(0, 3, DATA, member, bfs),
            None,
            "3 is outside the set"
        );
        assert_eq!(g.kinds_between(1, 2), WR);
    }

    #[test]
    fn a_long_chain_does_not_overflow_the_stack() {
        let n = 200_000u32;
        let mut edges: Vec<(u32, u32, u8)> = (0..n - 1).map(|i| (i, i + 1, WW)).collect();
        edges.push((n - 1, 0, WR));
        let g = Graph::build(n as usize, [&edges[..]], DATA);
        let sccs = g.sccs(None, DATA, &mut Scratch::new(n as usize));
        assert_eq!(sccs.len(), 1);
        assert_eq!(sccs[0].len(), n as usize);
    }
}
