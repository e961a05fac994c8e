package monthly_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/daifuku/daifuku/infra/dynamolocal"
	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/report"
	"github.com/daifuku/daifuku/shared/flows/monthly"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.RunTests(m)) }

// Rows of a month as the counters have them: one clear lift, one clear
// drop, one without a holdout and one too small to tell.
var november = map[string]report.Counters{
	"new|step|new|2|care|step/new-care|step/new-care-b":   {Decided: 2200, HeldOut: 200, Sent: 2000, TreatedRepurchased: 400, HeldRepurchased: 20},
	"repeater|step|repeater|1|nudge|step/repeater-nudge|": {Decided: 2000, HeldOut: 1000, Sent: 1000, TreatedRepurchased: 50, HeldRepurchased: 120},
	"royal|thank-you||0|||":                               {Decided: 50, Sent: 50, TreatedRepurchased: 20},
	"early|step|early|2|story|step/early-story|":          {Decided: 60, HeldOut: 6, Sent: 54, TreatedRepurchased: 6, HeldRepurchased: 1},
}

// putRows writes counters into the reports table, as the flows' ADDs leave them.
func putRows(t *testing.T, r *testrig.Rig, month string, rows map[string]report.Counters) {
	t.Helper()
	type item struct {
		Month string `dynamodbav:"month"`
		Row   string `dynamodbav:"row"`
		report.Counters
	}
	for row, c := range rows {
		av, err := attributevalue.MarshalMap(item{Month: month, Row: row, Counters: c})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.DB.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: &r.Tables.Reports, Item: av}); err != nil {
			t.Fatal(err)
		}
	}
}

type mail struct {
	Personalizations []struct {
		To []struct {
			Email string `json:"email"`
		} `json:"to"`
	} `json:"personalizations"`
	From struct {
		Email string `json:"email"`
	} `json:"from"`
	Subject string `json:"subject"`
	Content []struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"content"`
	Categories []string `json:"categories"`
}

func emails(t *testing.T, r *testrig.Rig) []mail {
	t.Helper()
	var out []mail
	for _, req := range r.Capture.Requests("email") {
		var m mail
		if err := json.Unmarshal(req.Body, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// The schedule's event on 1 December at 09:00 in Japan (00:00 UTC), and
// redeliveries of it at other hours and from clocks in other zones: each
// reports November, stores its page and JSON under the same keys, and the
// owner gets one email.
func TestTheFirstReportsTheMonthThatEndedAndEmailsTheOwnerOnce(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	putRows(t, r, "2026-11", november)
	putRows(t, r, "2026-12", map[string]report.Counters{"new|thank-you||0|||": {Decided: 3, Sent: 3}})
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	deliveries := []time.Time{
		time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),   // the schedule: 09:00 in Japan
		time.Date(2026, 12, 1, 9, 0, 0, 0, tokyo),      // the same instant, read in Japan
		time.Date(2026, 11, 30, 16, 30, 0, 0, la),      // a redelivery, from a clock in California
		time.Date(2026, 12, 1, 14, 59, 0, 0, time.UTC), // the last minute of the 1st in Japan
		time.Date(2026, 12, 1, 0, 5, 0, 0, time.UTC),   // and again, minutes later
	}
	ctx := context.Background()
	for _, at := range deliveries {
		r.Clock.Set(at)
		out, err := r.Tasks().Handle(ctx, []byte(`{"task":"report"}`))
		if err != nil {
			t.Fatalf("at %s: %v", at, err)
		}
		if !strings.HasPrefix(out, "report 2026-11: 4 rows, 2 highlights") {
			t.Errorf("at %s: %q", at, out)
		}
	}

	objects := map[string][]string{} // path → content types of every put
	var page, data []byte
	for _, req := range r.Capture.Requests("s3") {
		objects[req.Path] = append(objects[req.Path], req.Header.Get("Content-Type"))
		switch req.Path {
		case "/daifuku-reports/reports/2026-11.html":
			page = req.Body
		case "/daifuku-reports/reports/2026-11.json":
			data = req.Body
		}
	}
	if len(objects) != 2 || len(objects["/daifuku-reports/reports/2026-11.html"]) != len(deliveries) {
		t.Fatalf("objects put: %v, want November's page and JSON, once per delivery", objects)
	}
	if ct := objects["/daifuku-reports/reports/2026-11.html"][0]; ct != "text/html; charset=utf-8" {
		t.Errorf("page content type %q", ct)
	}
	if ct := objects["/daifuku-reports/reports/2026-11.json"][0]; ct != "application/json" {
		t.Errorf("JSON content type %q", ct)
	}
	if !strings.Contains(string(page), "2026") || !strings.Contains(string(page), "<svg") {
		t.Errorf("the page is not the report page: %.200s", page)
	}
	var rep report.Report
	if err := json.Unmarshal(data, &rep); err != nil || rep.Month != "2026-11" || len(rep.Rows) != 4 {
		t.Fatalf("stored JSON: month %q, %d rows, %v", rep.Month, len(rep.Rows), err)
	}

	sent := emails(t, r)
	if len(sent) != 1 {
		t.Fatalf("%d emails to the owner, want 1 whatever the deliveries", len(sent))
	}
	m := sent[0]
	if len(m.Personalizations) != 1 || m.Personalizations[0].To[0].Email != testrig.Owner || m.From.Email != r.Content.Shop.FromEmail {
		t.Errorf("mail from %s to %+v", m.From.Email, m.Personalizations)
	}
	if !strings.Contains(m.Subject, "2026年11月") || len(m.Categories) != 1 || m.Categories[0] != "monthly-report" {
		t.Errorf("subject %q, categories %v", m.Subject, m.Categories)
	}
	text := m.Content[0].Value
	for _, want := range []string{
		"2026年11月の効果レポート", "集計した行: 4（うち holdout と比べられた行: 3）",
		"■ 効果が大きかったもの\n1. 新規顧客 / ステップ / プラン new v2 / ステップ care / バリアント step/new-care-b\n   再購入率 +10.0 ポイント",
		"■ 逆効果の可能性があるもの\n1. リピーター / ステップ / プラン repeater v1 / ステップ nudge\n   再購入率 -7.0 ポイント",
		"https://api.example.jp/studio?report=2026-11",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("summary lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "初期顧客") || strings.Contains(text, "2026-12") {
		t.Errorf("summary names an undecided row or December:\n%s", text)
	}
	if html := m.Content[1].Value; m.Content[1].Type != "text/html" || !strings.Contains(html, `<a href="https://api.example.jp/studio?report=2026-11">`) {
		t.Errorf("HTML part %s: %.300s", m.Content[1].Type, html)
	}
}

// A month named in the event is reported as asked (a rerun); a bad one is refused.
func TestAMonthCanBeReportedAgainByName(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	putRows(t, r, "2026-10", november)
	out, err := r.Tasks().Handle(context.Background(), []byte(`{"task":"report","month":"2026-10"}`))
	if err != nil || !strings.HasPrefix(out, "report 2026-10: 4 rows") {
		t.Fatalf("%q %v", out, err)
	}
	if n := len(emails(t, r)); n != 1 {
		t.Errorf("%d emails", n)
	}
	for _, bad := range []string{"2026-13", "../x", "2026-1"} {
		_, err := r.Monthly.Run(context.Background(), bad)
		if !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("month %q: %v, want ErrInvalid", bad, err)
		}
	}
	if n := len(r.Capture.Requests("s3")); n != 2 {
		t.Errorf("%d objects put, want October's two only", n)
	}
}

// Without an owner address the report is stored and the email skipped, said so.
func TestWithoutAnOwnerTheReportIsStoredAndNoEmailSent(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	r.Clock.Set(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	m := *r.Monthly
	m.Owner = ""
	res, err := m.Run(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Month != "2026-11" || res.Email != monthly.NoOwner || len(r.Capture.Requests("s3")) != 2 || len(emails(t, r)) != 0 {
		t.Errorf("result %+v; %d objects, %d emails", res, len(r.Capture.Requests("s3")), len(emails(t, r)))
	}
	// Nor is anywhere to store them an excuse to send anything.
	m.Files, m.Owner = nil, testrig.Owner
	if _, err := m.Run(context.Background(), ""); err == nil || len(emails(t, r)) != 0 {
		t.Errorf("ran without a bucket: %v", err)
	}
}

// SendGrid refused the email: the run fails (the scheduler retries it) and
// the claim is given back, so the retry sends it, once.
func TestARefusedSummaryIsSentByTheRetry(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	r.Clock.Set(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	r.Capture.SetFault(func(w http.ResponseWriter, req *http.Request, _ []byte) bool {
		if req.URL.Path != "/v3/mail/send" {
			return false
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	})
	if _, err := r.Tasks().Handle(context.Background(), []byte(`{"task":"report"}`)); err == nil {
		t.Fatal("a refused summary was reported as done")
	}
	r.Capture.SetFault(nil)
	r.Clock.Advance(time.Minute)
	for range 2 {
		if _, err := r.Tasks().Handle(context.Background(), []byte(`{"task":"report"}`)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(emails(t, r)); n != 1 {
		t.Errorf("%d emails, want 1", n)
	}
}

// SendGrid took the email and the answer was lost: the owner may have it,
// so no retry sends a second copy.
func TestAnAmbiguousSummaryIsNotSentAgain(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	r.Clock.Set(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	var dropped atomic.Int32
	r.Capture.SetFault(func(w http.ResponseWriter, req *http.Request, body []byte) bool {
		if req.URL.Path != "/v3/mail/send" || dropped.Add(1) > 1 {
			return false
		}
		_, _ = r.Capture.AcceptMail(req, body)
		conn, _, _ := w.(http.Hijacker).Hijack()
		_ = conn.Close()
		return true
	})
	res, err := r.Monthly.Run(context.Background(), "")
	if err != nil || res.Email != monthly.MaybeSent {
		t.Fatalf("%+v %v", res, err)
	}
	r.Clock.Advance(time.Hour)
	if res, err = r.Monthly.Run(context.Background(), ""); err != nil || res.Email != monthly.SentBefore {
		t.Fatalf("%+v %v", res, err)
	}
	if n := len(emails(t, r)); n != 1 {
		t.Errorf("%d emails, want the one SendGrid took", n)
	}
}
