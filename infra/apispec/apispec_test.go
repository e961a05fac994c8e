package apispec

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"
	"github.com/sendgrid/sendgrid-go/helpers/mail"
)

const userID = "U4af4980629c4e8d6a7c3e2f1b0a9d8c7"

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func flexMessage(t *testing.T) *messaging_api.FlexMessage {
	t.Helper()
	bubble, err := messaging_api.UnmarshalFlexContainer([]byte(`{
		"type": "bubble",
		"body": {
			"type": "box",
			"layout": "vertical",
			"contents": [
				{"type": "text", "text": "ご予約ありがとうございます", "weight": "bold", "wrap": true},
				{"type": "button", "action": {"type": "uri", "label": "詳細", "uri": "https://example.com/r/1"}}
			]
		}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	return &messaging_api.FlexMessage{AltText: "ご予約", Contents: bubble}
}

func TestLine(t *testing.T) {
	s := ForTest(t)
	text := &messaging_api.TextMessage{Text: "こんにちは"}
	textJSON := `{"type":"text","text":"こんにちは"}`

	// Requests are marshalled through a pointer, as the SDK client does:
	// their MarshalJSON methods have pointer receivers.
	tests := []struct {
		name      string
		multicast bool
		body      []byte
		wantErr   string // "" means valid; otherwise a substring of the error
	}{
		{name: "SDK text push", body: mustJSON(t, &messaging_api.PushMessageRequest{
			To: userID, Messages: []messaging_api.MessageInterface{text},
		})},
		{name: "SDK flex push", body: mustJSON(t, &messaging_api.PushMessageRequest{
			To: userID, Messages: []messaging_api.MessageInterface{flexMessage(t)},
		})},
		{name: "SDK multicast", multicast: true, body: mustJSON(t, &messaging_api.MulticastRequest{
			To: []string{userID, userID}, Messages: []messaging_api.MessageInterface{text, flexMessage(t)},
		})},
		{name: "missing to", body: []byte(`{"messages":[` + textJSON + `]}`),
			wantErr: `property "to" is missing`},
		{name: "text message without text", body: []byte(`{"to":"` + userID + `","messages":[{"type":"text"}]}`),
			wantErr: `property "text" is missing`},
		{name: "empty message type", body: []byte(`{"to":"` + userID + `","messages":[{"type":"","text":"x"}]}`),
			wantErr: `"/messages/0": discriminator property "type" has invalid value`},
		{name: "unknown message type", body: []byte(`{"to":"` + userID + `","messages":[{"type":"txt","text":"x"}]}`),
			wantErr: `"/messages/0": discriminator property "type" has invalid value`},
		{name: "flex nested box without layout", body: flexBody(`{"type":"box","contents":[]}`),
			wantErr: `"/contents/0": doesn't match schema due to: Error at "/layout": property "layout" is missing`},
		{name: "flex component of unknown type", body: flexBody(`{"type":"txt","text":"x"}`),
			wantErr: `"/contents/0": discriminator property "type" has invalid value`},
		{name: "flex message without altText", body: []byte(`{"to":"` + userID + `","messages":[{"type":"flex",` +
			`"contents":{"type":"bubble"}}]}`),
			wantErr: `property "altText" is missing`},
		{name: "6 messages", body: []byte(`{"to":"` + userID + `","messages":[` + strings.Repeat(textJSON+",", 5) + textJSON + `]}`),
			wantErr: `"/messages": maximum number of items is 5`},
		{name: "non-null wrong type at top level", body: []byte(`{"to":"` + userID + `","messages":[` + textJSON + `],"customAggregationUnits":"x"}`),
			wantErr: `"/customAggregationUnits": value must be an array`},
		{name: "multicast 501 recipients", multicast: true, body: mustJSON(t, &messaging_api.MulticastRequest{
			To: make501(), Messages: []messaging_api.MessageInterface{text},
		}), wantErr: `"/to": maximum number of items is 500`},
		{name: "multicast to is a string", multicast: true, body: []byte(`{"to":"` + userID + `","messages":[` + textJSON + `]}`),
			wantErr: `"/to": value must be an array`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			validate := s.ValidateLinePush
			if tt.multicast {
				validate = s.ValidateLineMulticast
			}
			checkErr(t, validate(tt.body), tt.wantErr, tt.body)
		})
	}
}

// flexBody is a push of one flex bubble whose body box holds component.
func flexBody(component string) []byte {
	return []byte(`{"to":"` + userID + `","messages":[{"type":"flex","altText":"a","contents":` +
		`{"type":"bubble","body":{"type":"box","layout":"vertical","contents":[` + component + `]}}}]}`)
}

func make501() []string {
	to := make([]string, 501)
	for i := range to {
		to[i] = fmt.Sprintf("U%032d", i)
	}
	return to
}

func sendGridMail(edit func(m *mail.SGMailV3, p *mail.Personalization)) []byte {
	m := mail.NewV3Mail()
	m.SetFrom(mail.NewEmail("だいふく", "noreply@example.com"))
	m.Subject = "ご予約の確認"
	p := mail.NewPersonalization()
	p.AddTos(mail.NewEmail("山田 太郎", "taro@example.com"))
	p.SetCustomArg("reservation_id", "r-1")
	m.AddContent(mail.NewContent("text/plain", "ご予約ありがとうございます。"),
		mail.NewContent("text/html", "<p>ご予約ありがとうございます。</p>"))
	m.SetCustomArg("tenant", "t-1")
	m.AddCategories("reservation", "confirmation")
	if edit != nil {
		edit(m, p)
	}
	m.AddPersonalizations(p)
	return mail.GetRequestBody(m)
}

func TestSendGrid(t *testing.T) {
	s := ForTest(t)
	valid := sendGridMail(nil)

	// withJSON edits the valid body as generic JSON, for shapes sendgrid-go cannot produce.
	withJSON := func(edit func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(valid, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		return mustJSON(t, m)
	}

	tests := []struct {
		name    string
		body    []byte
		wantErr string
	}{
		{name: "sendgrid-go mail", body: valid},
		{name: "custom_args as spec'd string", body: withJSON(func(m map[string]any) { m["custom_args"] = "x" })},
		{name: "no personalizations", body: withJSON(func(m map[string]any) { delete(m, "personalizations") }),
			wantErr: `property "personalizations" is missing`},
		{name: "no from", body: sendGridMail(func(m *mail.SGMailV3, _ *mail.Personalization) { m.From = nil }),
			wantErr: `property "from" is missing`},
		{name: "personalization without to", body: sendGridMail(func(_ *mail.SGMailV3, p *mail.Personalization) { p.To = nil }),
			wantErr: `"/personalizations/0/to": property "to" is missing`},
		{name: "bad from email", body: sendGridMail(func(m *mail.SGMailV3, _ *mail.Personalization) { m.From.Address = "noreply" }),
			wantErr: `"/from/email": string doesn't match the format "email"`},
		{name: "custom_args with a non-string value", body: withJSON(func(m map[string]any) {
			m["custom_args"] = map[string]any{"tenant": "t-1", "n": 1}
		}), wantErr: `custom_args["n"]`},
		{name: "custom_args as a number", body: withJSON(func(m map[string]any) { m["custom_args"] = 1 }),
			wantErr: `"/custom_args": value must be a string`},
		{name: "11 categories", body: sendGridMail(func(m *mail.SGMailV3, _ *mail.Personalization) {
			for i := range 9 {
				m.AddCategories(fmt.Sprint("c", i))
			}
		}), wantErr: `"/categories": maximum number of items is 10`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, s.ValidateSendGridMail(tt.body), tt.wantErr, tt.body)
		})
	}
}

func checkErr(t *testing.T, err error, want string, body []byte) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("want valid, got %v\nbody: %s", err, body)
	case want != "" && err == nil:
		t.Errorf("want error containing %q, got valid\nbody: %s", want, body)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("want error containing %q, got %v", want, err)
	}
}

func TestDirAndLoadCache(t *testing.T) {
	s := ForTest(t)
	dir, _, _ := Dir()
	again, err := Load(dir + "/.")
	if err != nil || again != s {
		t.Errorf("Load(%q) = %p, %v; want the cached %p", dir, again, err, s)
	}
}
