//! The Network section: connections grouped per host and DNS queries per name, each with the
//! processes behind them.

use std::collections::HashMap;

use journal::{DnsQuery, Event, NetConnect, Record, Verdict};

use super::actor::Actors;
use super::{Clock, ProcessTree};
use crate::model::{ConnectAttempt, DnsName, HostActivity, Network};

/// A tunnelling client can produce thousands of distinct answers; a few show the pattern.
const MAX_ANSWERS: usize = 10;

#[derive(Default)]
pub(super) struct NetworkCollector {
    hosts: Vec<(HostActivity, Actors)>,
    host_at: HashMap<String, usize>,
    names: Vec<(DnsName, Actors)>,
    name_at: HashMap<String, usize>,
}

impl NetworkCollector {
    pub fn observe(&mut self, record: &Record, tree: &ProcessTree, clock: &Clock) {
        match &record.event {
            Event::NetConnect(c) => self.connect(c, record, tree, clock),
            Event::DnsQuery(q) => self.query(q, record, tree, clock),
            _ => {}
        }
    }

    fn connect(&mut self, c: &NetConnect, record: &Record, tree: &ProcessTree, clock: &Clock) {
        let host = c.host.clone().or_else(|| c.sni.clone()).unwrap_or_else(|| c.ip.clone());
        let i = *self.host_at.entry(host.clone()).or_insert_with(|| {
            self.hosts.push((
                HostActivity {
                    host,
                    sni: Vec::new(),
                    ips: Vec::new(),
                    ports: Vec::new(),
                    protocols: Vec::new(),
                    connections: 0,
                    allowed: 0,
                    blocked: 0,
                    violations: 0,
                    rules: Vec::new(),
                    reasons: Vec::new(),
                    bytes_up: 0,
                    bytes_down: 0,
                    first_seq: record.seq,
                    first_offset_ms: clock.offset_ms(&record.ts),
                    processes: Vec::new(),
                    processes_total: 0,
                },
                Actors::default(),
            ));
            self.hosts.len() - 1
        });
        let (h, actors) = &mut self.hosts[i];
        if let Some(sni) = &c.sni
            && *sni != h.host
        {
            push_once(&mut h.sni, sni);
        }
        push_once(&mut h.ips, &c.ip);
        if !h.ports.contains(&c.port) {
            h.ports.push(c.port);
        }
        push_once(&mut h.protocols, &c.protocol);
        h.connections += 1;
        match c.verdict {
            Verdict::Allowed => h.allowed += 1,
            Verdict::Blocked => h.blocked += 1,
        }
        h.violations += u64::from(c.violation);
        push_once(&mut h.rules, &c.rule);
        if let Some(reason) = &c.reason {
            push_once(&mut h.reasons, reason);
        }
        h.bytes_up = h.bytes_up.saturating_add(c.bytes_up);
        h.bytes_down = h.bytes_down.saturating_add(c.bytes_down);
        actors.add(tree, c.pid);
    }

    fn query(&mut self, q: &DnsQuery, record: &Record, tree: &ProcessTree, clock: &Clock) {
        let i = *self.name_at.entry(q.name.clone()).or_insert_with(|| {
            self.names.push((
                DnsName {
                    name: q.name.clone(),
                    qtypes: Vec::new(),
                    queries: 0,
                    allowed: 0,
                    blocked: 0,
                    violations: 0,
                    rules: Vec::new(),
                    answers: Vec::new(),
                    suspicious: Vec::new(),
                    first_seq: record.seq,
                    first_offset_ms: clock.offset_ms(&record.ts),
                    processes: Vec::new(),
                    processes_total: 0,
                },
                Actors::default(),
            ));
            self.names.len() - 1
        });
        let (n, actors) = &mut self.names[i];
        push_once(&mut n.qtypes, &q.qtype);
        n.queries += 1;
        match q.verdict {
            Verdict::Allowed => n.allowed += 1,
            Verdict::Blocked => n.blocked += 1,
        }
        n.violations += u64::from(q.violation);
        push_once(&mut n.rules, &q.rule);
        for answer in &q.answer {
            if n.answers.len() < MAX_ANSWERS {
                push_once(&mut n.answers, answer);
            }
        }
        for sign in &q.suspicious {
            push_once(&mut n.suspicious, sign);
        }
        actors.add(tree, q.pid);
    }

    pub fn finish(self, attempts: Vec<ConnectAttempt>) -> Network {
        let mut hosts: Vec<HostActivity> = self
            .hosts
            .into_iter()
            .map(|(mut h, actors)| {
                (h.processes, h.processes_total) = actors.finish();
                h
            })
            .collect();
        hosts.sort_by_key(|h| (h.violations == 0, h.blocked == 0, h.first_seq));
        let mut dns: Vec<DnsName> = self
            .names
            .into_iter()
            .map(|(mut n, actors)| {
                (n.processes, n.processes_total) = actors.finish();
                n
            })
            .collect();
        dns.sort_by_key(|n| (n.violations == 0, n.blocked == 0, n.suspicious.is_empty(), n.first_seq));
        Network { hosts, dns, attempts }
    }
}

fn push_once(list: &mut Vec<String>, value: &str) {
    if !list.iter().any(|v| v == value) {
        list.push(value.to_string());
    }
}
