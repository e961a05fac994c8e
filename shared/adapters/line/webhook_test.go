package line_test

import (
	"testing"

	"github.com/daifuku/daifuku/shared/adapters/line"
	"github.com/daifuku/daifuku/shared/domain/webhook"
)

func TestDecodeEvents(t *testing.T) {
	for raw, want := range map[string]webhook.LINEEvent{
		`{"type":"follow","timestamp":1000,"source":{"type":"user","userId":"U1"},"webhookEventId":"E1","replyToken":"r","follow":{"isUnblocked":true},"mode":"active"}`:                                        {ID: "E1", Type: "follow", UserID: "U1", ReplyToken: "r", Unblocked: true},
		`{"type":"message","timestamp":1000,"source":{"type":"user","userId":"U1"},"webhookEventId":"E2","replyToken":"r","message":{"type":"text","id":"1","text":"こんにちは"},"mode":"active"}`:                   {ID: "E2", Type: "message", UserID: "U1", ReplyToken: "r", MessageType: "text", Text: "こんにちは"},
		`{"type":"message","timestamp":1000,"source":{"type":"group","groupId":"G","userId":"U1"},"webhookEventId":"E3","message":{"type":"sticker","id":"1","packageId":"1","stickerId":"2"},"mode":"active"}`: {ID: "E3", Type: "message", MessageType: "sticker"},
		`{"type":"postback","timestamp":1000,"source":{"type":"user","userId":"U1"},"webhookEventId":"E4","replyToken":"r","postback":{"data":"fb=rating&v=5"},"mode":"active"}`:                                {ID: "E4", Type: "postback", UserID: "U1", ReplyToken: "r", PostbackData: "fb=rating&v=5"},
		`{"type":"somethingNew","timestamp":1000,"webhookEventId":"E5"}`: {ID: "E5", Type: "somethingNew"},
	} {
		got, err := line.DecodeEvent([]byte(raw))
		if err != nil {
			t.Errorf("%s: %v", raw, err)
			continue
		}
		got.At = got.At.Truncate(0)
		want.At = got.At
		if got != want {
			t.Errorf("%s:\n got %+v\nwant %+v", raw, got, want)
		}
	}
}

func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte(`{"type":"follow","timestamp":1000,"source":{"type":"user","userId":"U1"},"webhookEventId":"E1"}`))
	f.Add([]byte(`{"type":"message","message":{"type":"text","text":"x"}}`))
	f.Add([]byte(`{"type":"postback","postback":null}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := line.DecodeEvent(raw)
		if err == nil && ev.ID == "" {
			t.Fatalf("%q decoded without an id", raw)
		}
	})
}
