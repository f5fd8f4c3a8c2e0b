//! The API section: requests through inspected hosts grouped per host, each request as a row,
//! model usage summed per model, and each provider's spending against its cap.

use std::collections::HashMap;

use journal::{Budget, Event, HttpRequest, Record};

use super::actor::Actors;
use super::violations::verdict;
use super::{Clock, ProcessTree};
use crate::model::{
    Api, ApiHost, ApiRequest, BudgetEvent, BudgetState, NameCount, RequestUsage, StatusClasses, Tokens,
    UsageTotal,
};

#[derive(Default)]
pub(super) struct ApiCollector {
    hosts: Vec<(ApiHost, Actors)>,
    host_at: HashMap<(String, u16), usize>,
    requests: Vec<ApiRequest>,
    usage: Vec<UsageTotal>,
    budgets: Vec<BudgetState>,
}

impl ApiCollector {
    pub fn observe(&mut self, record: &Record, tree: &ProcessTree, clock: &Clock) {
        match &record.event {
            Event::HttpRequest(r) => self.request(r, record, tree, clock),
            Event::Budget(b) => self.budget(b, record, tree, clock),
            Event::RunStart(s) => {
                for cap in &s.limits.budgets {
                    let state = self.budget_of(&cap.provider);
                    state.max_tokens = state.max_tokens.or(cap.max_tokens);
                    state.max_usd = state.max_usd.or(cap.max_usd);
                }
            }
            _ => {}
        }
    }

    fn request(&mut self, r: &HttpRequest, record: &Record, tree: &ProcessTree, clock: &Clock) {
        let offset_ms = clock.offset_ms(&record.ts);
        let key = (r.host.clone(), r.port);
        let i = *self.host_at.entry(key).or_insert_with(|| {
            self.hosts.push((new_host(r, record.seq, offset_ms), Actors::default()));
            self.hosts.len() - 1
        });
        let (h, actors) = &mut self.hosts[i];
        h.requests += 1;
        match r.verdict {
            journal::Verdict::Allowed => h.allowed += 1,
            journal::Verdict::Blocked => h.blocked += 1,
        }
        h.violations += u64::from(r.violation);
        count_status(&mut h.status, r.status);
        h.bytes_up = h.bytes_up.saturating_add(r.bytes_up);
        h.bytes_down = h.bytes_down.saturating_add(r.bytes_down);
        for name in &r.injected {
            bump(&mut h.injected, name);
        }
        if !h.rules.contains(&r.rule) {
            h.rules.push(r.rule.clone());
        }
        actors.add(tree, r.pid);

        let usage = r.usage.as_ref().map(|u| RequestUsage {
            provider: u.provider.clone(),
            model: u.model.clone(),
            tokens: Tokens {
                input: u.input_tokens,
                output: u.output_tokens,
                cache_read: u.cache_read_tokens,
                cache_write: u.cache_write_tokens,
            },
            usd: u.usd,
            prices: u.prices.clone(),
        });
        if let Some(u) = &usage {
            self.add_usage(u);
        }
        self.requests.push(ApiRequest {
            seq: record.seq,
            offset_ms,
            host: r.host.clone(),
            port: r.port,
            method: r.method.clone(),
            path: r.path.clone(),
            status: r.status,
            verdict: verdict(r.verdict),
            rule: r.rule.clone(),
            violation: r.violation,
            reason: r.reason.clone(),
            injected: r.injected.clone(),
            bytes_up: r.bytes_up,
            bytes_down: r.bytes_down,
            duration_ms: r.duration_ms,
            usage,
            pid: r.pid,
            process: r.pid.and_then(|pid| tree.current(pid)).map(|p| p.id),
        });
    }

    fn add_usage(&mut self, u: &RequestUsage) {
        let at = self.usage.iter().position(|t| t.provider == u.provider && t.model == u.model);
        let total = match at {
            Some(i) => &mut self.usage[i],
            None => {
                self.usage.push(UsageTotal {
                    provider: u.provider.clone(),
                    model: u.model.clone(),
                    requests: 0,
                    tokens: Tokens::default(),
                    usd: 0.0,
                    unpriced: 0,
                    prices: Vec::new(),
                });
                let last = self.usage.len() - 1;
                &mut self.usage[last]
            }
        };
        total.requests += 1;
        total.tokens.add(&u.tokens);
        match u.usd {
            Some(usd) => total.usd += usd,
            None => total.unpriced += 1,
        }
        if !total.prices.contains(&u.prices) {
            total.prices.push(u.prices.clone());
        }
    }

    fn budget(&mut self, b: &Budget, record: &Record, tree: &ProcessTree, clock: &Clock) {
        let state = self.budget_of(&b.provider);
        state.tokens = b.tokens;
        state.usd = b.usd;
        state.max_tokens = b.max_tokens.or(state.max_tokens);
        state.max_usd = b.max_usd.or(state.max_usd);
        state.exceeded |= b.exceeded;
        state.refused += u64::from(b.verdict == journal::Verdict::Blocked);
        state.events.push(BudgetEvent {
            seq: record.seq,
            offset_ms: clock.offset_ms(&record.ts),
            tokens: b.tokens,
            usd: b.usd,
            exceeded: b.exceeded,
            verdict: verdict(b.verdict),
            what: b.what.clone(),
            pid: b.pid,
            process: b.pid.and_then(|pid| tree.current(pid)).map(|p| p.id),
        });
    }

    fn budget_of(&mut self, provider: &str) -> &mut BudgetState {
        let at = match self.budgets.iter().position(|s| s.provider == provider) {
            Some(i) => i,
            None => {
                self.budgets.push(BudgetState {
                    provider: provider.to_string(),
                    tokens: 0,
                    usd: 0.0,
                    max_tokens: None,
                    max_usd: None,
                    exceeded: false,
                    refused: 0,
                    events: Vec::new(),
                });
                self.budgets.len() - 1
            }
        };
        &mut self.budgets[at]
    }

    pub fn finish(mut self) -> Api {
        // Every provider with usage gets a line, capped or not; the meter's own totals (from a
        // budget event) win when they are ahead of what the requests recorded.
        let mut usage = std::mem::take(&mut self.usage);
        for u in &mut usage {
            // Sums of per-call prices carry float noise past the micro-dollar; readers want cents.
            u.usd = (u.usd * 1e6).round() / 1e6;
        }
        let mut sums: Vec<(String, u64, f64)> = Vec::new();
        for u in &usage {
            match sums.iter_mut().find(|(p, ..)| *p == u.provider) {
                Some((_, tokens, usd)) => {
                    *tokens = tokens.saturating_add(u.tokens.total());
                    *usd += u.usd;
                }
                None => sums.push((u.provider.clone(), u.tokens.total(), u.usd)),
            }
        }
        for (provider, tokens, usd) in sums {
            let state = self.budget_of(&provider);
            state.tokens = state.tokens.max(tokens);
            state.usd = state.usd.max(usd);
        }
        let mut hosts: Vec<ApiHost> = self
            .hosts
            .into_iter()
            .map(|(mut h, actors)| {
                (h.processes, h.processes_total) = actors.finish();
                h
            })
            .collect();
        hosts.sort_by_key(|h| (h.violations == 0, h.first_seq));
        Api { hosts, requests: self.requests, usage, budgets: self.budgets }
    }
}

fn new_host(r: &HttpRequest, seq: u64, offset_ms: Option<u64>) -> ApiHost {
    ApiHost {
        host: r.host.clone(),
        port: r.port,
        requests: 0,
        allowed: 0,
        blocked: 0,
        violations: 0,
        status: StatusClasses::default(),
        bytes_up: 0,
        bytes_down: 0,
        injected: Vec::new(),
        rules: Vec::new(),
        first_seq: seq,
        first_offset_ms: offset_ms,
        processes: Vec::new(),
        processes_total: 0,
    }
}

fn count_status(classes: &mut StatusClasses, status: Option<u16>) {
    let slot = match status {
        Some(100..=199) => &mut classes.informational,
        Some(200..=299) => &mut classes.success,
        Some(300..=399) => &mut classes.redirect,
        Some(400..=499) => &mut classes.client_error,
        Some(500..=599) => &mut classes.server_error,
        _ => &mut classes.none,
    };
    *slot += 1;
}

pub(super) fn bump(list: &mut Vec<NameCount>, name: &str) {
    match list.iter_mut().find(|n| n.name == name) {
        Some(n) => n.count += 1,
        None => list.push(NameCount { name: name.to_string(), count: 1 }),
    }
}
