//! The Graph API client against a local fake of Meta's Graph API: each message type goes out
//! as the JSON Meta documents, each of Meta's errors becomes the variant the outbox acts on,
//! templates are read across pages, media downloads respect their size limit, and the access
//! token never shows in an error. No database: these need no Site.

use serde_json::{Value, json};
use url::Url;
use whatsdex::bots::transport::cloud_api::graph::{
    CloudBody, GRAPH_VERSION, GraphClient, GraphError, ListRow, ListSection, MediaKind,
    MediaSource, OutgoingCloudMessage, ReplyButton, TemplateComponent, TemplateParameter,
};

use crate::common::graph::{
    BIG_MEDIA, FakeGraph, MEDIA_BYTES, MEDIA_ID, PHONE_NUMBER_ID, TOKEN, WABA_ID,
};

fn client(fake: &FakeGraph) -> GraphClient {
    GraphClient::new(Url::parse(&fake.base_url).unwrap()).unwrap()
}

fn to(body: CloudBody) -> OutgoingCloudMessage {
    OutgoingCloudMessage {
        to: "15550100200".into(),
        body,
    }
}

/// Send `body` and answer the JSON the fake received, after checking the envelope.
async fn sent_json(fake: &FakeGraph, graph: &GraphClient, body: CloudBody) -> Value {
    let wamid = graph.send(PHONE_NUMBER_ID, TOKEN, &to(body)).await.unwrap();
    assert!(wamid.starts_with("wamid."), "{wamid}");
    let request = fake.requests().pop().unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.path,
        format!("/{GRAPH_VERSION}/{PHONE_NUMBER_ID}/messages")
    );
    assert_eq!(
        request.authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    let body = request.body.unwrap();
    assert_eq!(body["messaging_product"], "whatsapp");
    assert_eq!(body["recipient_type"], "individual");
    assert_eq!(body["to"], "15550100200");
    body
}

#[actix_web::test]
async fn phone_number_details_come_back_with_the_token_in_the_header() {
    let fake = FakeGraph::start();
    let number = client(&fake)
        .phone_number(PHONE_NUMBER_ID, TOKEN)
        .await
        .unwrap();
    assert_eq!(number.verified_name, "Acme Support");
    assert_eq!(number.display_phone_number, "+1 555-010-0100");
    assert_eq!(number.quality_rating.as_deref(), Some("GREEN"));
    let request = &fake.requests()[0];
    assert_eq!(
        request.path,
        format!(
            "/{GRAPH_VERSION}/{PHONE_NUMBER_ID}?fields=verified_name%2Cdisplay_phone_number%2Cquality_rating"
        )
    );
    assert_eq!(
        request.authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert!(!request.path.contains(TOKEN));
}

#[actix_web::test]
async fn text_and_media_go_out_as_meta_expects() {
    let fake = FakeGraph::start();
    let graph = client(&fake);
    let text = CloudBody::Text {
        body: "Hello https://example.com".into(),
        preview_url: true,
    };
    let body = sent_json(&fake, &graph, text).await;
    assert_eq!(body["type"], "text");
    assert_eq!(
        body["text"],
        json!({"preview_url": true, "body": "Hello https://example.com"})
    );

    let image = CloudBody::Media {
        kind: MediaKind::Image,
        source: MediaSource::Id("1234567890".into()),
        caption: Some("Our menu".into()),
        filename: None,
    };
    let body = sent_json(&fake, &graph, image).await;
    assert_eq!(body["type"], "image");
    assert_eq!(
        body["image"],
        json!({"id": "1234567890", "caption": "Our menu"})
    );

    let document = CloudBody::Media {
        kind: MediaKind::Document,
        source: MediaSource::Link("https://example.com/price-list.pdf".into()),
        caption: None,
        filename: Some("price-list.pdf".into()),
    };
    let body = sent_json(&fake, &graph, document).await;
    assert_eq!(body["type"], "document");
    assert_eq!(
        body["document"],
        json!({"link": "https://example.com/price-list.pdf", "filename": "price-list.pdf"})
    );

    for (kind, name) in [(MediaKind::Audio, "audio"), (MediaKind::Video, "video")] {
        let media = CloudBody::Media {
            kind,
            source: MediaSource::Id("555".into()),
            caption: None,
            filename: None,
        };
        let body = sent_json(&fake, &graph, media).await;
        assert_eq!(body["type"], name);
        assert_eq!(body[name], json!({"id": "555"}));
    }
}

#[actix_web::test]
async fn interactive_reaction_and_template_go_out_as_meta_expects() {
    let fake = FakeGraph::start();
    let graph = client(&fake);
    let buttons = CloudBody::Buttons {
        header: Some("Your order".into()),
        body: "Did it arrive?".into(),
        footer: Some("Acme".into()),
        buttons: vec![
            ReplyButton {
                id: "yes".into(),
                title: "Yes".into(),
            },
            ReplyButton {
                id: "no".into(),
                title: "Not yet".into(),
            },
        ],
    };
    let body = sent_json(&fake, &graph, buttons).await;
    assert_eq!(body["type"], "interactive");
    assert_eq!(
        body["interactive"],
        json!({
            "type": "button",
            "header": {"type": "text", "text": "Your order"},
            "body": {"text": "Did it arrive?"},
            "footer": {"text": "Acme"},
            "action": {"buttons": [
                {"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
                {"type": "reply", "reply": {"id": "no", "title": "Not yet"}}
            ]}
        })
    );

    let list = CloudBody::List {
        header: None,
        body: "Pick a size".into(),
        footer: None,
        button: "Sizes".into(),
        sections: vec![
            ListSection {
                title: Some("Small".into()),
                rows: vec![ListRow {
                    id: "s".into(),
                    title: "S".into(),
                    description: Some("Fits 36-38".into()),
                }],
            },
            ListSection {
                title: Some("Large".into()),
                rows: vec![ListRow {
                    id: "l".into(),
                    title: "L".into(),
                    description: None,
                }],
            },
        ],
    };
    let body = sent_json(&fake, &graph, list).await;
    assert_eq!(
        body["interactive"],
        json!({
            "type": "list",
            "body": {"text": "Pick a size"},
            "action": {"button": "Sizes", "sections": [
                {"title": "Small", "rows": [{"id": "s", "title": "S", "description": "Fits 36-38"}]},
                {"title": "Large", "rows": [{"id": "l", "title": "L"}]}
            ]}
        })
    );

    let reaction = CloudBody::Reaction {
        message_id: "wamid.HBgLMTU1NTAxMDAyMDAVAgASGBQzQTk=".into(),
        emoji: "\u{1F44D}".into(),
    };
    let body = sent_json(&fake, &graph, reaction).await;
    assert_eq!(body["type"], "reaction");
    assert_eq!(
        body["reaction"],
        json!({"message_id": "wamid.HBgLMTU1NTAxMDAyMDAVAgASGBQzQTk=", "emoji": "\u{1F44D}"})
    );

    let template = CloudBody::Template {
        name: "order_shipped".into(),
        language: "en_US".into(),
        components: vec![
            TemplateComponent::Header(vec![TemplateParameter::Media {
                kind: MediaKind::Image,
                source: MediaSource::Link("https://example.com/box.jpg".into()),
            }]),
            TemplateComponent::Body(vec![
                TemplateParameter::Text("Ana".into()),
                TemplateParameter::Text("#1042".into()),
            ]),
            TemplateComponent::Button {
                sub_type: "quick_reply".into(),
                index: 0,
                parameters: vec![TemplateParameter::Payload("THANKS-1042".into())],
            },
        ],
    };
    let body = sent_json(&fake, &graph, template).await;
    assert_eq!(body["type"], "template");
    assert_eq!(
        body["template"],
        json!({
            "name": "order_shipped",
            "language": {"code": "en_US"},
            "components": [
                {"type": "header", "parameters": [
                    {"type": "image", "image": {"link": "https://example.com/box.jpg"}}
                ]},
                {"type": "body", "parameters": [
                    {"type": "text", "text": "Ana"},
                    {"type": "text", "text": "#1042"}
                ]},
                {"type": "button", "sub_type": "quick_reply", "index": "0", "parameters": [
                    {"type": "payload", "payload": "THANKS-1042"}
                ]}
            ]
        })
    );
}

#[actix_web::test]
async fn messages_over_meta_limits_are_refused_before_sending() {
    let fake = FakeGraph::start();
    let graph = client(&fake);
    let button = |id: &str, title: &str| ReplyButton {
        id: id.into(),
        title: title.into(),
    };
    let too_many = CloudBody::Buttons {
        header: None,
        body: "Choose".into(),
        footer: None,
        buttons: vec![
            button("a", "A"),
            button("b", "B"),
            button("c", "C"),
            button("d", "D"),
        ],
    };
    let long_title = CloudBody::Buttons {
        header: None,
        body: "Choose".into(),
        footer: None,
        buttons: vec![button("a", "A title far longer than twenty")],
    };
    let eleven_rows = CloudBody::List {
        header: None,
        body: "Pick".into(),
        footer: None,
        button: "Open".into(),
        sections: vec![ListSection {
            title: None,
            rows: (0..11)
                .map(|i| ListRow {
                    id: format!("r{i}"),
                    title: format!("Row {i}"),
                    description: None,
                })
                .collect(),
        }],
    };
    let audio_caption = CloudBody::Media {
        kind: MediaKind::Audio,
        source: MediaSource::Id("1".into()),
        caption: Some("no".into()),
        filename: None,
    };
    for (body, says) in [
        (too_many, "4 buttons"),
        (
            long_title,
            "a button title has 30 characters, Meta allows 20",
        ),
        (eleven_rows, "11 rows"),
        (audio_caption, "audio cannot have a caption"),
    ] {
        let error = graph
            .send(PHONE_NUMBER_ID, TOKEN, &to(body))
            .await
            .unwrap_err();
        assert!(matches!(error, GraphError::NotSent(_)), "{error:?}");
        assert!(error.to_string().contains(says), "{error}");
    }
    assert!(fake.requests().is_empty(), "nothing reached Meta");
}

#[actix_web::test]
async fn each_meta_error_becomes_its_variant_without_the_token() {
    let fake = FakeGraph::start();
    let graph = client(&fake);
    let hello = to(CloudBody::Text {
        body: "hi".into(),
        preview_url: false,
    });
    for code in [130429, 131056, 131047, 190, 100, 500] {
        fake.fail_next(code);
        let error = graph
            .send(PHONE_NUMBER_ID, TOKEN, &hello)
            .await
            .unwrap_err();
        match code {
            130429 => assert!(matches!(error, GraphError::Throughput(_)), "{error:?}"),
            131056 => assert!(matches!(error, GraphError::PairRateLimit(_)), "{error:?}"),
            131047 => assert!(matches!(error, GraphError::WindowClosed(_)), "{error:?}"),
            190 => assert!(matches!(error, GraphError::TokenInvalid(_)), "{error:?}"),
            100 => assert!(
                matches!(
                    &error,
                    GraphError::Invalid {
                        code: 100,
                        details: Some(_),
                        ..
                    }
                ),
                "{error:?}"
            ),
            _ => assert!(matches!(error, GraphError::Unavailable(_)), "{error:?}"),
        }
        if code != 500 {
            assert_eq!(error.code(), Some(code));
        }
        assert_eq!(error.is_retryable(), matches!(code, 130429 | 131056 | 500));
        let shown = format!("{error} {error:?}");
        assert!(shown.contains("fbtrace_id") || code == 100, "{shown}");
        assert!(!shown.contains(TOKEN), "the token leaked: {shown}");
    }

    // A wrong token is refused with 190 and never echoed.
    let wrong = "EAAGwrongTOKENxyz";
    let error = graph
        .phone_number(PHONE_NUMBER_ID, wrong)
        .await
        .unwrap_err();
    assert!(matches!(error, GraphError::TokenInvalid(_)), "{error:?}");
    assert!(!format!("{error} {error:?}").contains(wrong));
}

#[actix_web::test]
async fn an_unreachable_graph_api_is_unavailable() {
    // A port nothing listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let graph = GraphClient::new(Url::parse(&format!("http://127.0.0.1:{port}")).unwrap()).unwrap();
    let error = graph
        .phone_number(PHONE_NUMBER_ID, TOKEN)
        .await
        .unwrap_err();
    assert!(matches!(error, GraphError::Unavailable(_)), "{error:?}");
    assert!(error.is_retryable());
    assert!(!format!("{error} {error:?}").contains(TOKEN));
}

#[actix_web::test]
async fn approved_templates_are_read_across_pages() {
    let fake = FakeGraph::start();
    let templates = client(&fake)
        .message_templates(WABA_ID, TOKEN)
        .await
        .unwrap();
    let names: Vec<(&str, &str)> = templates
        .iter()
        .map(|t| (t.name.as_str(), t.language.as_str()))
        .collect();
    // The pending draft on page one is left out.
    assert_eq!(
        names,
        [
            ("order_shipped", "en_US"),
            ("order_shipped", "de"),
            ("spring_sale", "en_US")
        ]
    );
    assert!(templates.iter().all(|t| t.status == "APPROVED"));
    assert_eq!(templates[2].category, "MARKETING");
    let body = templates[0]
        .components
        .iter()
        .find(|c| c.kind == "BODY")
        .unwrap();
    assert_eq!(
        body.text.as_deref(),
        Some("Hello {{1}}, your order {{2}} has shipped.")
    );
    let buttons = templates[0]
        .components
        .iter()
        .find(|c| c.kind == "BUTTONS")
        .unwrap();
    assert_eq!(buttons.buttons[0].text, "Thanks");
    let requests = fake.requests();
    assert_eq!(requests.len(), 2, "two pages, two calls");
    assert!(requests[1].path.contains("after=PAGE2"));
    assert!(
        requests
            .iter()
            .all(|r| r.authorization.as_deref() == Some(format!("Bearer {TOKEN}").as_str()))
    );
}

#[actix_web::test]
async fn media_is_found_and_downloaded_within_its_limit() {
    let fake = FakeGraph::start();
    let graph = client(&fake);
    let media = graph.media_url(MEDIA_ID, TOKEN).await.unwrap();
    assert_eq!(media.mime_type, "image/png");
    assert_eq!(media.file_size, MEDIA_BYTES.len() as u64);
    assert!(!media.sha256.is_empty());
    let bytes = graph.download(&media.url, TOKEN, 1024).await.unwrap();
    assert_eq!(bytes, MEDIA_BYTES);
    assert_eq!(
        fake.requests()[1].authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str()),
        "the download carries the token too"
    );

    // Too large by its Content-Length, and too large as it streams without one.
    let limit = (BIG_MEDIA / 2) as u64;
    for path in ["big", "stream"] {
        let url = format!("{}/media-bytes/{path}", fake.base_url);
        // Compare lengths, so a failure does not print 64 KiB.
        let refused = graph.download(&url, TOKEN, limit).await.map(|b| b.len());
        assert_eq!(refused, Err(GraphError::TooLarge { max_bytes: limit }));
        let whole = graph.download(&url, TOKEN, BIG_MEDIA as u64).await.unwrap();
        assert_eq!(whole.len(), BIG_MEDIA);
    }

    // An expired token on the download is the token's fault, not the network's.
    fake.fail_next(190);
    let error = graph.download(&media.url, TOKEN, 1024).await.unwrap_err();
    assert!(matches!(error, GraphError::TokenInvalid(_)), "{error:?}");
}
