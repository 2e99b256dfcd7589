//! The inbox: every conversation of a workspace as its team sees it, live; answering a
//! customer by hand; taking a conversation over from the bot; and the contacts.

pub mod contacts;
pub mod fts;
pub mod messages;
pub mod reply;
pub mod search;
pub mod threads;
