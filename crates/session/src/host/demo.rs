//! The built-in demo application: logon → menu → record entry →
//! confirmation with a transaction id, plus a record query screen.

use ballast_codec::tn3270::Aid;

use super::app::{AppContext, Application, Input, Reply, ScreenDef};
use crate::secret::Secret;

/// The demo application. Sign on with [`DemoApp::user`] /
/// [`DemoApp::password`] (default `DEMO` / `SECRET`).
///
/// Screens and their input fields (by name):
/// - `logon`: `user`, `password` (non-display); Enter signs on, PF3 ends
///   the session;
/// - `menu`: `option` (numeric): `1` record entry, `2` record query; PF3
///   signs off;
/// - `entry`: `name`, `amount` (numeric); Enter stores the record and shows
///   `confirm` with `TRANSACTION ID: T0000001`; PF3 back to the menu;
/// - `confirm`: Enter back to the menu;
/// - `store_failed`, shown instead of `confirm` when the store refused the
///   record (full, or its journal could not be written): `STORE FAILED`,
///   `RECORD NOT STORED` and the reason; any key back to the menu;
/// - `query`: `txid`; Enter shows the stored record; PF3 back to the menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoApp {
    /// The user id accepted at logon.
    pub user: String,
    /// The password accepted at logon: a [`Secret`], wiped on drop and
    /// never printed.
    pub password: Secret,
}

impl Default for DemoApp {
    fn default() -> Self {
        Self {
            user: "DEMO".to_owned(),
            password: Secret::from("SECRET"),
        }
    }
}

fn logon(message: &str) -> ScreenDef {
    ScreenDef::new("logon")
        .title(0, 0, "BALLAST DEMO HOST", "turquoise")
        .text(2, 0, "PLEASE SIGN ON")
        .text(4, 0, "USERID   ===>")
        .input("user", 4, 14, 8)
        .text(5, 0, "PASSWORD ===>")
        .hidden("password", 5, 14, 8)
        .text(22, 0, message)
        .text(23, 0, "ENTER=SIGN ON  PF3=EXIT")
}

fn menu(message: &str) -> ScreenDef {
    ScreenDef::new("menu")
        .title(0, 0, "MAIN MENU", "turquoise")
        .text(0, 60, "USER {user}")
        .text(2, 0, "1  ENTER A RECORD")
        .text(3, 0, "2  QUERY A RECORD")
        .text(5, 0, "OPTION ===>")
        .numeric("option", 5, 12, 1)
        .text(22, 0, message)
        .text(23, 0, "ENTER=SELECT  PF3=SIGN OFF")
}

fn entry(message: &str) -> ScreenDef {
    ScreenDef::new("entry")
        .title(0, 0, "RECORD ENTRY", "turquoise")
        .text(2, 0, "NAME     ===>")
        .input("name", 2, 14, 20)
        .text(3, 0, "AMOUNT   ===>")
        .numeric("amount", 3, 14, 8)
        .text(22, 0, message)
        .text(23, 0, "ENTER=STORE  PF3=MENU")
}

fn confirm() -> ScreenDef {
    ScreenDef::new("confirm")
        .title(0, 0, "RECORD STORED", "green")
        .text(2, 0, "TRANSACTION ID: {txid}")
        .text(3, 0, "NAME: {name}")
        .text(4, 0, "AMOUNT: {amount}")
        .text(23, 0, "ENTER=MENU")
}

/// The reason goes through `vars` (not the screen text), so braces in
/// it are shown as they are.
fn store_failed() -> ScreenDef {
    ScreenDef::new("store_failed")
        .title(0, 0, "STORE FAILED", "red")
        .text(2, 0, "RECORD NOT STORED")
        .text(4, 0, "REASON: {reason1}")
        .text(5, 0, "{reason2}")
        .text(23, 0, "ENTER=MENU  PF3=MENU")
}

/// Most characters of a failure's reason shown per row.
const REASON_ROW: usize = 70;

/// `reason` cut into the two rows of the `store_failed` screen.
fn reason_rows(reason: &str) -> (String, String) {
    let mut chars = reason.chars();
    let first: String = chars.by_ref().take(REASON_ROW).collect();
    let second: String = chars.take(REASON_ROW).collect();
    (first, second)
}

fn query(result: &str) -> ScreenDef {
    ScreenDef::new("query")
        .title(0, 0, "RECORD QUERY", "turquoise")
        .text(2, 0, "TRANSACTION ID ===>")
        .input("txid", 2, 20, 8)
        .text(4, 0, result)
        .text(23, 0, "ENTER=QUERY  PF3=MENU")
}

impl DemoApp {
    fn show(ctx: &mut AppContext, s: ScreenDef) -> Reply {
        ctx.screen = s.name.clone();
        Reply::Show(s)
    }

    fn on_logon(&self, ctx: &mut AppContext, input: &Input) -> Reply {
        match input.aid {
            Aid::Pf(3) => Reply::Disconnect,
            Aid::Enter => {
                let user = input.get("user").to_ascii_uppercase();
                if user == self.user && self.password.matches(input.get("password")) {
                    ctx.vars.insert("user".to_owned(), user.clone());
                    ctx.user = Some(user);
                    Self::show(ctx, menu(""))
                } else {
                    Self::show(ctx, logon("INVALID USERID OR PASSWORD"))
                }
            }
            _ => Self::show(ctx, logon("")),
        }
    }

    fn on_menu(ctx: &mut AppContext, input: &Input) -> Reply {
        match (input.aid, input.get("option")) {
            (Aid::Pf(3), _) => {
                ctx.user = None;
                Self::show(ctx, logon("SIGNED OFF"))
            }
            (Aid::Enter, "1") => Self::show(ctx, entry("")),
            (Aid::Enter, "2") => Self::show(ctx, query("")),
            (Aid::Enter, _) => Self::show(ctx, menu("INVALID OPTION")),
            _ => Self::show(ctx, menu("")),
        }
    }

    fn on_entry(ctx: &mut AppContext, input: &Input) -> Reply {
        match input.aid {
            Aid::Pf(3) => Self::show(ctx, menu("")),
            Aid::Enter => {
                let name = input.get("name").trim().to_owned();
                let amount = input.get("amount").trim().parse::<u64>();
                let (true, Ok(amount)) = (!name.is_empty(), amount) else {
                    return Self::show(ctx, entry("NAME AND A WHOLE AMOUNT ARE REQUIRED"));
                };
                let user = ctx.user.clone().unwrap_or_default();
                match ctx.store.insert(&user, &name, amount) {
                    Ok(txid) => {
                        ctx.vars.insert("txid".to_owned(), txid);
                        ctx.vars.insert("name".to_owned(), name);
                        ctx.vars.insert("amount".to_owned(), amount.to_string());
                        Self::show(ctx, confirm())
                    }
                    Err(e) => {
                        // The store's errors name limits and I/O failures,
                        // never field contents.
                        let (first, second) = reason_rows(&e.to_string());
                        ctx.vars.insert("reason1".to_owned(), first);
                        ctx.vars.insert("reason2".to_owned(), second);
                        Self::show(ctx, store_failed())
                    }
                }
            }
            _ => Self::show(ctx, entry("")),
        }
    }

    fn on_query(ctx: &mut AppContext, input: &Input) -> Reply {
        match input.aid {
            Aid::Pf(3) => Self::show(ctx, menu("")),
            Aid::Enter => {
                let txid = input.get("txid").trim().to_ascii_uppercase();
                let result = match ctx.store.get(&txid) {
                    Some(r) => format!("FOUND {} NAME: {} AMOUNT: {}", r.txid, r.name, r.amount),
                    None => format!("NOT FOUND: {txid}"),
                };
                Self::show(ctx, query(&result))
            }
            _ => Self::show(ctx, query("")),
        }
    }
}

impl Application for DemoApp {
    fn start(&self, ctx: &mut AppContext) -> Reply {
        Self::show(ctx, logon(""))
    }

    fn on_input(&self, ctx: &mut AppContext, input: &Input) -> Reply {
        match ctx.screen.as_str() {
            "menu" => Self::on_menu(ctx, input),
            "entry" => Self::on_entry(ctx, input),
            "confirm" | "store_failed" => Self::show(ctx, menu("")),
            "query" => Self::on_query(ctx, input),
            _ => self.on_logon(ctx, input),
        }
    }
}
