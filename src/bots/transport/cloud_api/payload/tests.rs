//! Meta's bodies (written from Meta's webhook reference, in tests/fixtures/meta) read into
//! events, field by field.

use chrono::{TimeZone, Utc};

use super::*;

const PHONE_NUMBER_ID: &str = "117745903318452";
const CUSTOMER: &str = "5511987650001";
const CUSTOMER_USER_ID: &str = "BR.1Q2w3E4r5T6y7U8i";

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            "../../../../../tests/fixtures/meta/",
            $name,
            ".json"
        ))
        .as_bytes()
    };
}

fn wamid(index: u32) -> String {
    format!("wamid.HBgNNTUxMTk4NzY1MDAwMRUCABIYFjNFQjBEMEE{index:02}AA==")
}

fn messages(raw: &[u8]) -> Vec<CloudMessage> {
    let delivery = events(raw).expect("a WhatsApp delivery");
    delivery
        .events
        .into_iter()
        .map(|event| match event {
            CloudEvent::Message(message) => message,
            other => panic!("expected only messages, got {other:?}"),
        })
        .collect()
}

/// The only message of a one-message fixture, with the sender fields every fixture shares checked.
fn only_message(raw: &[u8], index: u32) -> CloudMessage {
    let mut all = messages(raw);
    assert_eq!(all.len(), 1, "{all:?}");
    let message = all.remove(0);
    assert_eq!(message.phone_number_id, PHONE_NUMBER_ID);
    assert_eq!(message.wamid, wamid(index));
    assert_eq!(message.from.as_deref(), Some(CUSTOMER));
    assert_eq!(message.from_user_id.as_deref(), Some(CUSTOMER_USER_ID));
    assert_eq!(message.contact_name.as_deref(), Some("Ana Souza"));
    assert_eq!(
        message.timestamp,
        Some(Utc.with_ymd_and_hms(2025, 12, 2, 10, 6, 40).unwrap())
    );
    message
}

fn media(kind: &MessageKind) -> &Media {
    match kind {
        MessageKind::Image(media)
        | MessageKind::Audio(media)
        | MessageKind::Video(media)
        | MessageKind::Document(media)
        | MessageKind::Sticker(media) => media,
        other => panic!("expected media, got {other:?}"),
    }
}

#[test]
fn a_text_reply_has_its_body_and_the_message_it_replies_to() {
    let message = only_message(fixture!("text"), 1);
    assert_eq!(
        message.kind,
        MessageKind::Text {
            body: "Hello, is the shop open today?".into()
        }
    );
    assert_eq!(
        message.context,
        Some(MessageContext {
            replied_to: Some(
                "wamid.HBgNNTUxMTk4NzY1MDAwMRUCABEYEkJVU0lORVNTX1JFUExZXzAxAA==".into()
            ),
            replied_to_from: Some("15550199001".into()),
            forwarded: false,
            frequently_forwarded: false,
        })
    );
}

#[test]
fn an_image_has_its_media_id_type_hash_and_caption() {
    let message = only_message(fixture!("image"), 2);
    assert!(matches!(message.kind, MessageKind::Image(_)));
    assert_eq!(
        media(&message.kind),
        &Media {
            id: "1029384756647382".into(),
            mime_type: Some("image/jpeg".into()),
            sha256: Some("c3b1a0e2f4d5968778695a4b3c2d1e0f1a2b3c4d5e6f708192a3b4c5d6e7f809".into()),
            caption: Some("The broken part".into()),
            filename: None,
            voice: false,
        }
    );
    assert_eq!(message.context, None);
}

#[test]
fn a_voice_note_is_audio_with_the_voice_flag() {
    let message = only_message(fixture!("audio"), 3);
    assert!(matches!(message.kind, MessageKind::Audio(_)));
    let audio = media(&message.kind);
    assert_eq!(audio.id, "2038475610293847");
    assert_eq!(audio.mime_type.as_deref(), Some("audio/ogg; codecs=opus"));
    assert_eq!(
        audio.sha256.as_deref(),
        Some("0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0")
    );
    assert!(audio.voice);
    assert_eq!(audio.caption, None);
}

#[test]
fn a_forwarded_video_says_it_was_forwarded() {
    let message = only_message(fixture!("video"), 4);
    assert!(matches!(message.kind, MessageKind::Video(_)));
    let video = media(&message.kind);
    assert_eq!(video.id, "3047586920314758");
    assert_eq!(video.mime_type.as_deref(), Some("video/mp4"));
    assert_eq!(video.caption.as_deref(), Some("Look at this"));
    assert!(!video.voice);
    assert_eq!(
        message.context,
        Some(MessageContext {
            forwarded: true,
            ..MessageContext::default()
        })
    );
}

#[test]
fn a_document_has_its_file_name_and_caption() {
    let message = only_message(fixture!("document"), 5);
    assert!(matches!(message.kind, MessageKind::Document(_)));
    let document = media(&message.kind);
    assert_eq!(document.id, "4056789012345678");
    assert_eq!(document.filename.as_deref(), Some("invoice-2026-11.pdf"));
    assert_eq!(document.caption.as_deref(), Some("My invoice"));
    assert_eq!(document.mime_type.as_deref(), Some("application/pdf"));
    assert_eq!(
        document.sha256.as_deref(),
        Some("1234abcd5678ef901234abcd5678ef901234abcd5678ef901234abcd5678ef90")
    );
}

#[test]
fn a_sticker_has_its_media_id() {
    let message = only_message(fixture!("sticker"), 6);
    assert!(matches!(message.kind, MessageKind::Sticker(_)));
    let sticker = media(&message.kind);
    assert_eq!(sticker.id, "5067890123456789");
    assert_eq!(sticker.mime_type.as_deref(), Some("image/webp"));
}

#[test]
fn a_location_has_its_coordinates_name_and_address() {
    let message = only_message(fixture!("location"), 7);
    assert_eq!(
        message.kind,
        MessageKind::Location(Location {
            latitude: -23.561414,
            longitude: -46.655881,
            name: Some("Avenida Paulista".into()),
            address: Some("Av. Paulista, 1578, Sao Paulo".into()),
        })
    );
}

#[test]
fn shared_contacts_have_their_names_and_phones() {
    let message = only_message(fixture!("contacts"), 8);
    assert_eq!(
        message.kind,
        MessageKind::Contacts(vec![
            SharedContact {
                name: Some("Carlos Lima".into()),
                phones: vec![
                    SharedPhone {
                        phone: Some("+55 11 91234-0002".into()),
                        wa_id: Some("5511912340002".into()),
                        label: Some("CELL".into()),
                    },
                    SharedPhone {
                        phone: Some("+55 11 3333-0003".into()),
                        wa_id: None,
                        label: Some("WORK".into()),
                    },
                ],
            },
            SharedContact {
                name: Some("Dra. Beatriz".into()),
                phones: vec![SharedPhone {
                    phone: Some("+55 21 98888-0004".into()),
                    wa_id: None,
                    label: Some("HOME".into()),
                }],
            },
        ])
    );
}

#[test]
fn a_reaction_names_the_message_and_the_emoji() {
    let message = only_message(fixture!("reaction"), 9);
    assert_eq!(
        message.kind,
        MessageKind::Reaction {
            message_id: "wamid.HBgNNTUxMTk4NzY1MDAwMRUCABEYEkJVU0lORVNTX1JFUExZXzAyAA==".into(),
            emoji: Some("\u{1F44D}".into()),
        }
    );
}

#[test]
fn a_removed_reaction_has_no_emoji() {
    let message = only_message(fixture!("reaction_removed"), 10);
    assert_eq!(
        message.kind,
        MessageKind::Reaction {
            message_id: "wamid.HBgNNTUxMTk4NzY1MDAwMRUCABEYEkJVU0lORVNTX1JFUExZXzAyAA==".into(),
            emoji: None,
        }
    );
}

#[test]
fn a_button_reply_has_its_id_title_and_the_message_it_answers() {
    let message = only_message(fixture!("interactive_button_reply"), 11);
    assert_eq!(
        message.kind,
        MessageKind::ButtonReply {
            id: "confirm-order-77".into(),
            title: "Yes, confirm".into(),
        }
    );
    assert_eq!(
        message
            .context
            .and_then(|context| context.replied_to)
            .as_deref(),
        Some("wamid.HBgNNTUxMTk4NzY1MDAwMRUCABEYEkJVU0lORVNTX0JVVFRPTlNfMDEA")
    );
}

#[test]
fn a_list_reply_has_its_id_title_and_description() {
    let message = only_message(fixture!("interactive_list_reply"), 12);
    assert_eq!(
        message.kind,
        MessageKind::ListReply {
            id: "slot-tue-10".into(),
            title: "Tuesday 10:00".into(),
            description: Some("Downtown branch".into()),
        }
    );
}

#[test]
fn a_template_button_has_its_payload_and_text() {
    let message = only_message(fixture!("button"), 13);
    assert_eq!(
        message.kind,
        MessageKind::Button {
            payload: Some("STOP_PROMOTIONS".into()),
            text: Some("Stop promotions".into()),
        }
    );
}

#[test]
fn an_unsupported_message_carries_metas_error() {
    let message = only_message(fixture!("unsupported"), 14);
    assert_eq!(
        message.kind,
        MessageKind::Unsupported {
            raw_type: "unsupported".into(),
            error: Some(MetaError {
                code: Some(131051),
                title: Some("Message type unknown".into()),
                message: Some("Message type unknown".into()),
                details: Some("Message type is currently not supported.".into()),
            }),
        }
    );
}

#[test]
fn two_messages_in_one_delivery_keep_their_order() {
    let all = messages(fixture!("two_messages"));
    let bodies: Vec<_> = all
        .iter()
        .map(|message| (message.wamid.clone(), message.kind.clone()))
        .collect();
    assert_eq!(
        bodies,
        vec![
            (
                wamid(15),
                MessageKind::Text {
                    body: "First: I need help".into()
                }
            ),
            (
                wamid(16),
                MessageKind::Text {
                    body: "Second: with my order".into()
                }
            ),
        ]
    );
    assert!(all[0].timestamp < all[1].timestamp);
    assert!(
        all.iter()
            .all(|message| message.contact_name.as_deref() == Some("Ana Souza"))
    );
}

#[test]
fn a_statuses_batch_reads_every_status_with_its_details() {
    let delivery = events(fixture!("statuses")).expect("a WhatsApp delivery");
    let statuses: Vec<CloudStatus> = delivery
        .events
        .into_iter()
        .map(|event| match event {
            CloudEvent::Status(status) => status,
            other => panic!("expected only statuses, got {other:?}"),
        })
        .collect();
    let first = "wamid.HBgNNTUxMTk4NzY1MDAwMRUCABEYEkJVU0lORVNTX09VVF8w1AA==";
    let second = "wamid.HBgNNTUxMTk4NzY1MDAwMRUCABEYEkJVU0lORVNTX09VVF8w2AA==";
    let summary: Vec<_> = statuses
        .iter()
        .map(|status| (status.wamid.as_str(), status.status.clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (first, DeliveryStatus::Sent),
            (first, DeliveryStatus::Delivered),
            (first, DeliveryStatus::Read),
            (second, DeliveryStatus::Failed),
        ]
    );
    for status in &statuses {
        assert_eq!(status.phone_number_id, PHONE_NUMBER_ID);
        assert_eq!(status.recipient_id.as_deref(), Some(CUSTOMER));
        assert_eq!(status.recipient_user_id.as_deref(), Some(CUSTOMER_USER_ID));
    }
    assert_eq!(
        statuses[0].timestamp,
        Some(Utc.with_ymd_and_hms(2025, 12, 2, 10, 10, 0).unwrap())
    );
    assert_eq!(
        statuses[0].conversation_category.as_deref(),
        Some("service")
    );
    assert_eq!(statuses[0].pricing_category.as_deref(), Some("service"));
    assert_eq!(statuses[2].conversation_category, None);
    assert!(statuses[..3].iter().all(|status| status.errors.is_empty()));
    assert_eq!(
        statuses[3].errors,
        vec![MetaError {
            code: Some(131047),
            title: Some("Re-engagement message".into()),
            message: Some("Re-engagement message".into()),
            details: Some(
                "Message failed to send because more than 24 hours have passed since the \
                 customer last replied to this number."
                    .into()
            ),
        }]
    );
}

#[test]
fn an_errors_only_change_is_an_error_event() {
    let delivery = events(fixture!("errors_only")).expect("a WhatsApp delivery");
    assert_eq!(
        delivery.events,
        vec![CloudEvent::Error(CloudError {
            phone_number_id: PHONE_NUMBER_ID.into(),
            code: Some(131000),
            title: Some("Something went wrong".into()),
            message: Some("Something went wrong".into()),
            details: Some("Message failed to send due to an unknown error.".into()),
        })]
    );
    assert_eq!(delivery.skipped_changes, 0);
}

#[test]
fn unknown_fields_and_types_never_fail_the_delivery() {
    let delivery = events(fixture!("unknown_fields")).expect("a WhatsApp delivery");
    // The template status change is another `field`: skipped and counted.
    assert_eq!(delivery.skipped_changes, 1);
    assert_eq!(delivery.skipped_items, 0);
    let all: Vec<CloudMessage> = delivery
        .events
        .into_iter()
        .map(|event| match event {
            CloudEvent::Message(message) => message,
            other => panic!("expected only messages, got {other:?}"),
        })
        .collect();
    let kinds: Vec<_> = all.iter().map(|message| message.kind.clone()).collect();
    assert_eq!(
        kinds,
        vec![
            MessageKind::Unsupported {
                raw_type: "hologram".into(),
                error: None
            },
            MessageKind::Text {
                body: "Still here".into()
            },
            // An image without a media id cannot be fetched: unsupported, not a failure.
            MessageKind::Unsupported {
                raw_type: "image".into(),
                error: None
            },
        ]
    );
    let ids: Vec<_> = all.iter().map(|message| message.wamid.clone()).collect();
    assert_eq!(ids, vec![wamid(17), wamid(18), wamid(19)]);
    assert!(
        all.iter()
            .all(|message| message.from.as_deref() == Some(CUSTOMER))
    );
}

#[test]
fn a_sender_known_only_by_user_id_has_no_phone() {
    let all = messages(fixture!("user_id_only"));
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].wamid, wamid(20));
    assert_eq!(all[0].from, None);
    assert_eq!(all[0].from_user_id.as_deref(), Some("BR.9z8Y7x6W5v4U3t2S"));
    assert_eq!(all[0].contact_name.as_deref(), Some("anonymous_fox"));
    assert_eq!(
        all[0].kind,
        MessageKind::Text {
            body: "Hi, I use a username".into()
        }
    );
}

#[test]
fn an_id_missing_on_the_message_is_taken_from_its_contact() {
    let raw = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages",
        "value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"77"},
        "contacts":[{"profile":{"name":"Bo"},"wa_id":"4915112345678","user_id":"DE.abc"}],
        "messages":[{"from":"+49 151 12345678","id":"wamid.A","timestamp":"1764670000","type":"text","text":{"body":"hi"}},
                    {"from_user_id":"DE.abc","id":"wamid.B","timestamp":"1764670001","type":"text","text":{"body":"again"}}]}}]}]}"#;
    let all = messages(raw);
    for message in &all {
        assert_eq!(
            message.from.as_deref(),
            Some("4915112345678"),
            "{}",
            message.wamid
        );
        assert_eq!(
            message.from_user_id.as_deref(),
            Some("DE.abc"),
            "{}",
            message.wamid
        );
        assert_eq!(message.contact_name.as_deref(), Some("Bo"));
    }
}

#[test]
fn events_are_grouped_by_phone_number_in_order_of_first_appearance() {
    let raw = br#"{"object":"whatsapp_business_account","entry":[
        {"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"A"},
            "messages":[{"from":"1","id":"a1","type":"text","text":{"body":"1"}}]}}]},
        {"id":"2","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"B"},
            "messages":[{"from":"2","id":"b1","type":"text","text":{"body":"2"}}]}}]},
        {"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"A"},
            "statuses":[{"id":"a0","status":"read","timestamp":"1"}]}}]}]}"#;
    let delivery = events(raw).expect("a WhatsApp delivery");
    let order: Vec<(&str, &str)> = delivery
        .events
        .iter()
        .map(|event| match event {
            CloudEvent::Message(message) => {
                (message.phone_number_id.as_str(), message.wamid.as_str())
            }
            CloudEvent::Status(status) => (status.phone_number_id.as_str(), status.wamid.as_str()),
            CloudEvent::Error(error) => (error.phone_number_id.as_str(), ""),
        })
        .collect();
    assert_eq!(order, vec![("A", "a1"), ("A", "a0"), ("B", "b1")]);
}

#[test]
fn items_without_ids_and_changes_without_a_number_are_skipped_and_counted() {
    let raw = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[
        {"field":"messages","value":{"metadata":{"phone_number_id":"A"},
            "messages":[{"from":"1","type":"text","text":{"body":"no id"}}, "not an object"],
            "statuses":[{"status":"read"}]}},
        {"field":"messages","value":{"messages":[{"from":"1","id":"x","type":"text"}]}},
        {"field":"messages","value":{"messaging_product":"instagram","metadata":{"phone_number_id":"A"}}},
        {"field":"account_update","value":{}}]}]}"#;
    let delivery = events(raw).expect("a WhatsApp delivery");
    assert_eq!(delivery.events, vec![]);
    assert_eq!(delivery.skipped_changes, 3);
    assert_eq!(delivery.skipped_items, 3);
}

#[test]
fn a_body_that_is_not_a_whatsapp_delivery_is_an_error() {
    assert_eq!(events(b"not json"), Err(PayloadError::NotJson));
    assert_eq!(events(b"[1, 2]"), Err(PayloadError::NotJson));
    assert_eq!(
        events(br#"{"object":"page","entry":[]}"#),
        Err(PayloadError::NotWhatsApp {
            object: Some("page".into())
        })
    );
    assert_eq!(
        events(br#"{"entry":[]}"#),
        Err(PayloadError::NotWhatsApp { object: None })
    );
}

#[test]
fn a_whatsapp_body_with_no_entries_is_an_empty_delivery() {
    let delivery = events(br#"{"object":"whatsapp_business_account"}"#).expect("a delivery");
    assert_eq!(delivery.events, vec![]);
    assert_eq!(delivery.skipped_changes, 0);
}

#[test]
fn every_fixture_is_a_whatsapp_delivery() {
    let fixtures: [&[u8]; 19] = [
        fixture!("text"),
        fixture!("image"),
        fixture!("audio"),
        fixture!("video"),
        fixture!("document"),
        fixture!("sticker"),
        fixture!("location"),
        fixture!("contacts"),
        fixture!("reaction"),
        fixture!("reaction_removed"),
        fixture!("interactive_button_reply"),
        fixture!("interactive_list_reply"),
        fixture!("button"),
        fixture!("unsupported"),
        fixture!("two_messages"),
        fixture!("statuses"),
        fixture!("errors_only"),
        fixture!("unknown_fields"),
        fixture!("user_id_only"),
    ];
    for raw in fixtures {
        let delivery = events(raw).expect("a WhatsApp delivery");
        assert!(!delivery.events.is_empty());
        assert_eq!(delivery.skipped_items, 0);
    }
}

#[test]
fn odd_parts_read_as_absent_or_unsupported() {
    let raw = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[
        {"field":"messages","value":{"metadata":{"phone_number_id":"A"},
            "messages":[
                {"from":"1","id":"m1","timestamp":"not a number","type":"interactive",
                 "interactive":{"type":"nfm_reply","nfm_reply":{"response_json":"{}"}}},
                {"from":"1","id":"m2","timestamp":1764670000,"type":"text","text":"a string, not an object",
                 "context":"not an object"},
                {"from":"1","id":"m3","type":"location","location":{"latitude":"north"}}],
            "statuses":[{"id":"s1","status":"played","timestamp":"1764670000","errors":"none"}]}}]}]}"#;
    let delivery = events(raw).expect("a WhatsApp delivery");
    let [
        CloudEvent::Message(form),
        CloudEvent::Message(text),
        CloudEvent::Message(location),
        CloudEvent::Status(played),
    ] = delivery.events.as_slice()
    else {
        panic!(
            "expected three messages and a status: {:?}",
            delivery.events
        );
    };
    let unsupported = |raw_type: &str| MessageKind::Unsupported {
        raw_type: raw_type.into(),
        error: None,
    };
    assert_eq!(form.kind, unsupported("interactive"));
    assert_eq!(form.timestamp, None);
    assert_eq!(text.kind, unsupported("text"));
    assert_eq!(text.context, None);
    // A numeric timestamp is read as well as Meta's usual string.
    assert_eq!(
        text.timestamp,
        Some(Utc.with_ymd_and_hms(2025, 12, 2, 10, 6, 40).unwrap())
    );
    assert_eq!(location.kind, unsupported("location"));
    assert_eq!(played.status, DeliveryStatus::Other("played".into()));
    assert!(played.errors.is_empty());
}
