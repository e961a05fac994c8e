package api_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"crypto/sha256"

	"github.com/daifuku/daifuku/shared/adapters/sendgrid"
	"github.com/daifuku/daifuku/shared/domain/webhook"
	"github.com/daifuku/daifuku/shared/edge/api"
	"github.com/daifuku/daifuku/shared/flows/webhooks"
)

// countingInbox takes events in memory, so the fuzzers exercise the
// verification and parsing, not DynamoDB.
type countingInbox struct{ events int }

func (c *countingInbox) Accept(_ context.Context, _ webhook.Source, evs []json.RawMessage) (int, error) {
	for _, e := range evs {
		if !json.Valid(e) {
			return 0, &webhooks.TooLargeError{} // never: every stored event must be JSON
		}
	}
	c.events += len(evs)
	return 1, nil
}

func fuzzHandler(t testing.TB, key *ecdsa.PrivateKey) (http.Handler, *countingInbox) {
	in := &countingInbox{}
	wh := &api.Webhooks{Inbox: in, LINESecret: lineSecret, InboundToken: inboundToken}
	if key != nil {
		der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
		v, err := sendgrid.NewEventVerifier(base64.StdEncoding.EncodeToString(der))
		if err != nil {
			t.Fatal(err)
		}
		v.Window = -1
		wh.SendGrid = v
	}
	return api.New(validatingOrders{}, api.Options{Webhooks: wh}), in
}

// wantAnswer fails unless a webhook answer is one of the statuses a provider
// may see, with a JSON body.
func wantAnswer(t *testing.T, w *httptest.ResponseRecorder, body []byte) {
	switch w.Code {
	case http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge:
	default:
		t.Fatalf("status %d for %q: %s", w.Code, body, w.Body)
	}
	if !json.Valid(w.Body.Bytes()) {
		t.Fatalf("not a JSON answer: %s", w.Body)
	}
}

// FuzzLINEWebhook: any correctly signed body is accepted (200), refused as
// malformed (400), or too large (413); never a panic or a 5xx.
func FuzzLINEWebhook(f *testing.F) {
	f.Add([]byte(`{"destination":"U1","events":[{"type":"follow","mode":"active","timestamp":1,"source":{"type":"user","userId":"U2"},"webhookEventId":"E","deliveryContext":{"isRedelivery":false},"replyToken":"r"}]}`))
	f.Add([]byte(`{"destination":"U1","events":[{"type":"message","message":{"type":"text","id":"1","text":"hi"},"source":{"type":"group","groupId":"G"}}]}`))
	f.Add([]byte(`{"events":[{"type":"undefined"}]}`))
	f.Add([]byte(`{"events":[]}`))
	h, _ := fuzzHandler(f, nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/line", bytes.NewReader(body))
		req.Header.Set("X-Line-Signature", lineSign(lineSecret, body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		wantAnswer(t, w, body)
	})
}

// FuzzSendGridEvents: any signed body gets 200, 400 or 413.
func FuzzSendGridEvents(f *testing.F) {
	f.Add([]byte(`[{"email":"a@b.c","timestamp":1,"event":"open","sg_event_id":"x","message_key":"k"}]` + "\r\n"))
	f.Add([]byte(`[{"event":"bounce","type":"blocked"},` + "\r\n" + `{"event":"unknown"}]`))
	f.Add([]byte(`{"event":"open"}`))
	f.Add([]byte(`[1,2]`))
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	h, _ := fuzzHandler(f, key)
	f.Fuzz(func(t *testing.T, body []byte) {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		sum := sha256.Sum256(append([]byte(ts), body...))
		sig, _ := ecdsa.SignASN1(rand.Reader, key, sum[:])
		req := httptest.NewRequest(http.MethodPost, "/webhooks/sendgrid/events", bytes.NewReader(body))
		req.Header.Set(sendgrid.SignatureHeader, base64.StdEncoding.EncodeToString(sig))
		req.Header.Set(sendgrid.TimestampHeader, ts)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		wantAnswer(t, w, body)
	})
}

// FuzzInboundParse: any body with the right token gets 200, 400 or 413.
func FuzzInboundParse(f *testing.F) {
	f.Add([]byte("--xYzZY\r\nContent-Disposition: form-data; name=\"from\"\r\n\r\nA <a@b.c>\r\n--xYzZY\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nhi\r\n--xYzZY--\r\n"))
	f.Add([]byte("--xYzZY\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nFrom: a@b.c\nContent-Type: multipart/mixed; boundary=q\n\n--q\n\nx\n--q--\n--xYzZY--\r\n"))
	f.Add([]byte("--xYzZY\r\nContent-Disposition: form-data; name=\"envelope\"\r\n\r\n{\"from\":1}\r\n--xYzZY--\r\n"))
	h, _ := fuzzHandler(f, nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		w := postInbound(h, "/webhooks/sendgrid/inbound/"+inboundToken, inboundType, body)
		wantAnswer(t, w, body)
	})
}
