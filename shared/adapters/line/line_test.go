package line_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/apispec"
	"github.com/daifuku/daifuku/infra/capture"
	"github.com/daifuku/daifuku/shared/adapters/line"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/render"
)

const user = "U4af4980629a1b2c3d4e5f60718293a01"

func TestPushAnswers(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		header    map[string]string
		retryable bool
		after     time.Duration
	}{
		{"rate limited", 429, map[string]string{"Retry-After": "7"}, true, 7 * time.Second},
		{"monthly quota used up", 429, map[string]string{"X-Body": "You have reached your monthly limit."}, false, 0},
		{"server error", 503, nil, true, 0},
		{"bad request", 400, nil, false, 0},
		{"unauthorised", 401, nil, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				msg := "The request was refused"
				for k, v := range tt.header {
					if k == "X-Body" {
						msg = v
						continue
					}
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(`{"message":"` + msg + `"}`))
			}))
			defer srv.Close()
			c, _ := line.New("token", srv.URL, srv.Client())
			_, err := c.Push(context.Background(), user, &render.LINE{Text: "こんにちは"}, "2f2b8c4e-0000-5000-8000-000000000000")
			var f *delivery.Failure
			if !errors.As(err, &f) {
				t.Fatalf("err = %v, want a *delivery.Failure", err)
			}
			quota := tt.name == "monthly quota used up"
			if f.Status != tt.status || f.Retryable != tt.retryable || f.RetryAfter != tt.after || f.Ambiguous || f.Reason == "" || f.QuotaUsedUp != quota {
				t.Errorf("failure = %+v", f)
			}
		})
	}
}

func TestPushRepeatedRetryKeyIsSentOnce(t *testing.T) {
	cap := &capture.Server{}
	srv := httptest.NewServer(cap)
	defer srv.Close()
	c, _ := line.New("token", srv.URL, srv.Client())
	first, err := c.Push(context.Background(), user, &render.LINE{Text: "a"}, "key-1")
	if err != nil || first.Repeated {
		t.Fatalf("first: %+v %v", first, err)
	}
	again, err := c.Push(context.Background(), user, &render.LINE{Text: "a"}, "key-1")
	if err != nil || !again.Repeated || again.ProviderID == "" {
		t.Errorf("409 must read as sent before: %+v %v", again, err)
	}
	if n := len(cap.Requests("line")); n != 1 {
		t.Errorf("%d messages delivered, want 1", n)
	}
}

func TestPushWithoutAnswerIsRetryable(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close() // nothing listens here now
	c, _ := line.New("token", "http://"+addr, &http.Client{Timeout: time.Second})
	_, err := c.Push(context.Background(), user, &render.LINE{Text: "a"}, "k")
	var f *delivery.Failure
	if !errors.As(err, &f) || !f.Retryable {
		t.Errorf("err = %v, want retryable (the retry key makes it safe)", err)
	}
}

// One client, many goroutines: the SDK keeps the context in the client, so
// sharing it would race (go test -race catches that).
func TestPushIsSafeForConcurrentUse(t *testing.T) {
	specs := apispec.ForTest(t)
	cap := &capture.Server{}
	srv := httptest.NewServer(cap)
	defer srv.Close()
	c, _ := line.New("token", srv.URL, srv.Client())
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := c.Push(ctx, user, &render.LINE{Text: "並行"}, string(rune('a'+i))); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, r := range cap.Requests("line") {
		if err := specs.ValidateLinePush(r.Body); err != nil {
			t.Error(err)
		}
	}
}

func TestMessageChecksContent(t *testing.T) {
	long := make([]rune, 5001)
	for i := range long {
		long[i] = 'あ'
	}
	for name, msg := range map[string]*render.LINE{
		"empty text":       {Text: ""},
		"text over 5,000":  {Text: string(long)},
		"flex not a flex":  {Flex: []byte(`{"type":"text","text":"x"}`)},
		"flex with no alt": {Flex: []byte(`{"type":"flex","contents":{"type":"bubble"}}`)},
		"flex broken JSON": {Flex: []byte(`{"type":`)},
		"nothing to send":  nil,
	} {
		if _, err := line.Message(msg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	m, err := line.Message(&render.LINE{Flex: []byte(`{"type":"flex","altText":"お礼","contents":{"type":"bubble","body":{"type":"box","layout":"vertical","contents":[{"type":"text","text":"ありがとう","flex":1}]}}}`)})
	if err != nil || m.GetType() != "flex" {
		t.Fatalf("valid flex: %v", err)
	}
}

// Quick replies go under text and Flex messages alike, valid by LINE's spec.
func TestQuickRepliesUnderTextAndFlex(t *testing.T) {
	specs := apispec.ForTest(t)
	cap := &capture.Server{}
	srv := httptest.NewServer(cap)
	defer srv.Close()
	c, err := line.New("token", srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	qr := []render.QuickReply{{Label: "5 とても満足", Data: "fb=rating&v=5", DisplayText: "★★★★★"}, {Label: "1", Data: "fb=rating&v=1"}}
	flex := []byte(`{"type":"flex","altText":"いかがでしたか","contents":{"type":"bubble","body":{"type":"box","layout":"vertical","contents":[{"type":"text","text":"いかがでしたか"}]}}}`)
	for i, msg := range []*render.LINE{{Text: "いかがでしたか", QuickReply: qr}, {Flex: flex, QuickReply: qr}} {
		if _, err := c.Push(context.Background(), user, msg, ""); err != nil {
			t.Fatal(err)
		}
		body := cap.Requests("line")[i].Body
		if err := specs.ValidateLinePush(body); err != nil {
			t.Errorf("message %d: %v\n%s", i, err, body)
		}
		if !strings.Contains(string(body), `"quickReply":{"items":[`) || strings.Count(string(body), `"type":"postback"`) != 2 {
			t.Errorf("message %d has no postback quick replies: %s", i, body)
		}
	}
	for name, bad := range map[string][]render.QuickReply{
		"label over 20": {{Label: strings.Repeat("あ", 21), Data: "x"}},
		"no data":       {{Label: "x"}},
		"14 buttons":    make([]render.QuickReply, 14),
	} {
		if _, err := line.Message(&render.LINE{Text: "x", QuickReply: bad}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// The month's quota and what it used, as LINE reports them (the capture
// server counts a multicast's friends, one each).
func TestQuotaReadsLimitAndUse(t *testing.T) {
	cap := &capture.Server{}
	srv := httptest.NewServer(cap)
	defer srv.Close()
	c, _ := line.New("token", srv.URL, srv.Client())
	if q, err := c.Quota(context.Background()); err != nil || q.Limited || q.Left() != -1 {
		t.Errorf("no quota: %+v %v", q, err)
	}
	cap.SetQuota(1000, 10)
	if _, err := c.Multicast(context.Background(), []string{user, user[:32] + "f"}, &render.LINE{Text: "a"}, ""); err != nil {
		t.Fatal(err)
	}
	if q, err := c.Quota(context.Background()); err != nil || !q.Limited || q.Limit != 1000 || q.Used != 12 || q.Left() != 988 || q.Fits(989) {
		t.Errorf("quota %+v %v; want 12 of 1000 used", q, err)
	}
}
