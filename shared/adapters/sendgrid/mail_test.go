package sendgrid_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/apispec"
	"github.com/daifuku/daifuku/shared/adapters/sendgrid"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/render"
)

var (
	env = delivery.Envelope{FromEmail: "hello@komorebi.example.jp", FromName: "こもれび", ReplyTo: "support@komorebi.example.jp",
		ToEmail: "hanako@example.jp", ToName: "佐藤 花子",
		CustomArgs: map[string]string{"message_key": "thank-you|C1|order:O1"}, Categories: []string{"thank-you", "royal"}}
	msg = &render.Email{Subject: "ありがとうございます", HTML: "<p>ありがとう</p>", Text: "ありがとう"}
)

func TestSendAccepted(t *testing.T) {
	specs := apispec.ForTest(t)
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		if r.URL.Path != "/v3/mail/send" || r.Header.Get("Authorization") != "Bearer SG.key" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("X-Message-Id", "sg-123")
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	c, _ := sendgrid.New("SG.key", srv.URL, srv.Client())
	rc, err := c.Send(context.Background(), env, msg)
	if err != nil || rc.ProviderID != "sg-123" {
		t.Fatalf("receipt %+v, err %v", rc, err)
	}
	if err := specs.ValidateSendGridMail(body); err != nil {
		t.Errorf("body invalid against the SendGrid spec: %v", err)
	}
	var got struct {
		CustomArgs map[string]string      `json:"custom_args"`
		ReplyTo    struct{ Email string } `json:"reply_to"`
	}
	_ = json.Unmarshal(body, &got)
	if got.CustomArgs["message_key"] != "thank-you|C1|order:O1" || got.ReplyTo.Email != env.ReplyTo {
		t.Errorf("body = %s", body)
	}
}

func TestSendRefusals(t *testing.T) {
	reset := time.Now().Add(30 * time.Second).Unix()
	tests := []struct {
		name      string
		status    int
		header    map[string]string
		body      string
		retryable bool
		reason    string
	}{
		{"rate limited", 429, map[string]string{"X-RateLimit-Reset": strconv.FormatInt(reset, 10)}, `{"errors":[{"message":"too many requests"}]}`, true, "too many requests"},
		{"server error", 500, nil, ``, true, "Internal Server Error"},
		{"bad request names the field", 400, nil, `{"errors":[{"message":"Does not contain a valid address.","field":"personalizations.0.to.0.email"}]}`, false, "personalizations.0.to.0.email: Does not contain a valid address."},
		{"forbidden", 403, nil, `{"errors":[{"message":"The from address does not match a verified Sender Identity."}]}`, false, "The from address does not match a verified Sender Identity."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c, _ := sendgrid.New("SG.key", srv.URL, srv.Client())
			_, err := c.Send(context.Background(), env, msg)
			var f *delivery.Failure
			if !errors.As(err, &f) {
				t.Fatalf("err = %v; sendgrid-go returns no error on %d, the adapter must", err, tt.status)
			}
			if f.Retryable != tt.retryable || f.Ambiguous || f.Reason != tt.reason || f.Status != tt.status {
				t.Errorf("failure = %+v", f)
			}
			if tt.status == 429 && (f.RetryAfter <= 0 || f.RetryAfter > 31*time.Second) {
				t.Errorf("RetryAfter = %v, want about 30s from X-RateLimit-Reset", f.RetryAfter)
			}
		})
	}
}

func TestSendOutcomeUnknown(t *testing.T) {
	t.Run("connection refused: never reached SendGrid, retryable", func(t *testing.T) {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := l.Addr().String()
		l.Close()
		c, _ := sendgrid.New("SG.key", "http://"+addr, &http.Client{Timeout: time.Second})
		_, err := c.Send(context.Background(), env, msg)
		var f *delivery.Failure
		if !errors.As(err, &f) || !f.Retryable || f.Ambiguous {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("timeout after sending: ambiguous, never resent", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(300 * time.Millisecond)
		}))
		defer srv.Close()
		c, _ := sendgrid.New("SG.key", srv.URL, &http.Client{Timeout: 50 * time.Millisecond})
		_, err := c.Send(context.Background(), env, msg)
		var f *delivery.Failure
		if !errors.As(err, &f) || !f.Ambiguous || f.Retryable {
			t.Errorf("err = %v", err)
		}
	})
}

// A name, subject or reply address with CR LF in it (a customer's name, a
// forwarded reply's subject) must not add headers or recipients.
func TestHeaderValuesCarryNoLineBreaks(t *testing.T) {
	specs := apispec.ForTest(t)
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	c, _ := sendgrid.New("SG.key", srv.URL, srv.Client())
	hostile := env
	hostile.ToName = "佐藤 花子\r\nBcc: everyone@evil.example"
	hostile.ReplyTo = "hanako@example.jp\r\nX-Injected: 1"
	hostile.Headers = map[string]string{"List-Unsubscribe": "<https://a.example/u>\r\nBcc: x@evil.example"}
	m := *msg
	m.Subject = "お誕生日おめでとうございます\r\nBcc: everyone@evil.example\u0000"
	if _, err := c.Send(context.Background(), hostile, &m); err != nil {
		t.Fatal(err)
	}
	if err := specs.ValidateSendGridMail(body); err != nil {
		t.Errorf("body invalid against the SendGrid spec: %v", err)
	}
	var got struct {
		Subject          string
		ReplyTo          struct{ Email string } `json:"reply_to"`
		Headers          map[string]string
		Personalizations []struct {
			To []struct{ Name, Email string }
		}
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.ReplyTo.Email != "" {
		t.Errorf("reply_to %q: a reply address that is no address is left out", got.ReplyTo.Email)
	}
	for what, v := range map[string]string{"subject": got.Subject,
		"to name": got.Personalizations[0].To[0].Name, "List-Unsubscribe": got.Headers["List-Unsubscribe"]} {
		if strings.ContainsAny(v, "\r\n\x00") {
			t.Errorf("%s %q keeps a control character", what, v)
		}
	}
	if got.Subject != "お誕生日おめでとうございます  Bcc: everyone@evil.example" {
		t.Errorf("subject %q: the words stay, on one line", got.Subject)
	}
}
