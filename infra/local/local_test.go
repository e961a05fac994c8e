package local_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/dynamolocal"
	"github.com/daifuku/daifuku/infra/local"
	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/adapters/content"
	"github.com/daifuku/daifuku/templates"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.RunTests(m)) }

func outbox(t *testing.T, dir, provider string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "outbox", provider, "*.json"))
	return files
}

// morning is 10:00 in Tokyo: the demo birthday, which waits for 09:00 in the
// customer's zone, goes out at once. The test must not read the wall clock.
var morning = time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)

// make run, twice: the first sends rank-specific thank-yous over both
// channels; the second finds every order recorded and sends nothing.
func TestRunTwiceSendsOnce(t *testing.T) {
	t.Setenv("LINE_CHANNEL_ACCESS_TOKEN", "")
	t.Setenv("SENDGRID_API_KEY", "")
	content, err := content.LoadContent(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	prefix := fmt.Sprintf("run%d-", time.Now().UnixNano())
	var logs bytes.Buffer
	start := func() *local.Env {
		env, err := local.Start(context.Background(), local.Options{Dir: dir, DynamoDB: dynamolocal.TestEndpoint(t), Prefix: prefix, Content: content,
			Clock: func() time.Time { return morning }, Log: slog.New(slog.NewJSONHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(env.Close)
		return env
	}

	first, err := start().Run(context.Background(), "../seed")
	if err != nil {
		t.Fatal(err)
	}
	line, mail := outbox(t, dir, "line"), outbox(t, dir, "email")
	if len(line) == 0 || len(mail) == 0 {
		t.Fatalf("outbox: %d LINE, %d email files; want both", len(line), len(mail))
	}
	ranks, kinds := map[string]bool{}, map[string]bool{}
	sent := 0
	for k, n := range first.Messages {
		if k[3] == "sent" {
			ranks[k[0]] = true
			kinds[k[1]] = true
			sent += n
		}
	}
	// Today's schedule on the sample ledger and the demo cast.
	for _, kind := range []string{"thank-you", "birthday", "step", "lapsed", "newsletter"} {
		if !kinds[kind] {
			t.Errorf("no %s message sent on the first run (sent: %v)", kind, kinds)
		}
	}
	if first.Schedule == nil || first.Schedule.Lapsed == 0 {
		t.Error("the demo cast's lapsing customer did not lapse")
	}
	if len(ranks) < 3 {
		t.Errorf("thank-yous went to ranks %v, want at least three", ranks)
	}
	// A multicast file reaches many friends: count recipients, not files.
	reached := len(mail)
	for _, f := range line {
		b, _ := os.ReadFile(f)
		var body struct {
			To json.RawMessage `json:"to"`
		}
		_ = json.Unmarshal(b, &body)
		var many []string
		if json.Unmarshal(body.To, &many) == nil {
			reached += len(many)
		} else {
			reached++
		}
	}
	if sent != reached {
		t.Errorf("%d messages sent but the outbox reaches %d", sent, reached)
	}
	// Each rank's own template: the royal customer's Flex message names the rank.
	found := false
	for _, f := range line {
		b, _ := os.ReadFile(f)
		if strings.Contains(string(b), `"type":"flex"`) {
			found = true
		}
	}
	if !found {
		t.Error("no Flex message in the LINE outbox (the royal template is Flex)")
	}
	// Issue 14's pieces, in the outbox: a thank-you stating the points the
	// order earned, a points expiry reminder, the demo event's invitation
	// with its RSVP buttons to a royal customer (and semi-royal: early
	// access) while repeaters wait, a referral thank-you, and a royal
	// customer's lapsed note.
	for _, row := range [][4]string{{"early", "points", "email", "sent"}, {"royal", "event", "line", "sent"},
		{"semi-royal", "event", "email", "sent"}, {"early", "referral", "email", "sent"}, {"royal:lapsed", "lapsed", "email", "sent"}} {
		if first.Messages[row] != 1 {
			t.Errorf("want one %v, got %d", row, first.Messages[row])
		}
	}
	for k := range first.Messages {
		if k[1] == "event" && k[0] != "royal" && k[0] != "semi-royal" {
			t.Errorf("%v: only royal and semi-royal customers are invited before the others", k)
		}
	}
	outboxHas := func(files []string, s string) bool {
		for _, f := range files {
			if b, _ := os.ReadFile(f); strings.Contains(string(b), s) {
				return true
			}
		}
		return false
	}
	if !outboxHas(append(line, mail...), "ポイントを獲得") {
		t.Error("no thank-you states the points its order earned")
	}
	if !outboxHas(line, "ev="+local.DemoEvent+`\u0026a=yes`) { // the postback data, as JSON writes its &
		t.Error("the royal customer's invitation has no 参加 button")
	}
	if first.Referral == nil || first.Referral.ThankYou == "" {
		t.Errorf("the demo referral: %+v", first.Referral)
	}
	if first.Messages[[4]string{"repeater", "thank-you", "-", "skipped"}] != 1 {
		t.Errorf("the customer without consent (C007) must be skipped: %v", first.Messages)
	}

	second, err := start().Run(context.Background(), "../seed")
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Messages) != 0 || second.Orders != 0 || second.DuplicateOrders != first.Orders || len(second.Schedule.Decisions) != 0 {
		t.Errorf("second run: %+v, want every order already recorded and nothing sent", second)
	}
	if l, m := outbox(t, dir, "line"), outbox(t, dir, "email"); len(l) != len(line) || len(m) != len(mail) {
		t.Errorf("second run wrote %d new outbox files", len(l)+len(m)-len(line)-len(mail))
	}
	assertNoPersonalData(t, logs.String())
}

// assertNoPersonalData checks the logs for every name, address and LINE id of the sample ledger.
func assertNoPersonalData(t *testing.T, logs string) {
	t.Helper()
	if !strings.Contains(logs, `"msg":"message settled"`) {
		t.Fatal("no logs captured; the check below would prove nothing")
	}
	for _, file := range []string{"../seed/customers.csv", "../seed/orders.csv"} {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows[1:] {
			for i, col := range rows[0] {
				v := row[i]
				if v != "" && (col == "name" || col == "email" || col == "line_user_id" || col == "item_name") && strings.Contains(logs, v) {
					t.Errorf("logs contain personal data (%s %q)", col, v)
				}
			}
		}
	}
}

// make run at 23:00 in Tokyo: LINE's quiet hours and the birthday's morning
// hold messages back. The summary says until when, and how to release them;
// releasing them the next morning sends them.
func TestRunAtNightSaysWhenDeferredMessagesGo(t *testing.T) {
	t.Setenv("LINE_CHANNEL_ACCESS_TOKEN", "")
	t.Setenv("SENDGRID_API_KEY", "")
	content, err := content.LoadContent(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	night := time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC) // 23:00 in Tokyo
	clock := &testrig.Clock{}
	clock.Set(night)
	env, err := local.Start(context.Background(), local.Options{Dir: t.TempDir(), DynamoDB: dynamolocal.TestEndpoint(t),
		Prefix: fmt.Sprintf("night%d-", time.Now().UnixNano()), Content: content, Clock: clock.Now,
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	sum, err := env.Run(context.Background(), "../seed")
	if err != nil {
		t.Fatal(err)
	}
	deferred := 0
	for k, n := range sum.Messages {
		if k[3] == "deferred" {
			deferred += n
		}
	}
	if deferred == 0 {
		t.Fatalf("nothing deferred at 23:00 in Tokyo: %v", sum.Messages)
	}
	var out bytes.Buffer
	sum.Print(&out)
	for _, want := range []string{"← waits until 11-24 09:00 JST", local.ReleaseCommand + " -now 2026-11-24T09:00:00+09:00"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}

	clock.Set(night.Add(10*time.Hour + 30*time.Minute)) // 09:30 the next morning
	if _, err := env.Tasks().Handle(context.Background(), []byte(`{"task":"release"}`)); err != nil {
		t.Fatal(err)
	}
	released := env.Queue.Len()
	if err := env.SendQueued(context.Background()); err != nil {
		t.Fatal(err)
	}
	if released != deferred {
		t.Errorf("released %d of %d deferred messages", released, deferred)
	}
}

// make run's ledger, then the 1st of the next month as the schedule would
// see it (twice): the report lands in .local/reports/, the owner's summary
// in the capture server's outbox, once.
func TestMonthlyReportLocally(t *testing.T) {
	t.Setenv("OWNER_EMAIL", "owner@example.jp")
	t.Setenv("REPORTS_BUCKET", "")
	content, err := content.LoadContent(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	clock := &testrig.Clock{}
	clock.Set(time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC))
	dir := t.TempDir()
	env, err := local.Start(context.Background(), local.Options{Dir: dir, DynamoDB: dynamolocal.TestEndpoint(t),
		Prefix: fmt.Sprintf("monthly%d-", time.Now().UnixNano()), Content: content, Clock: clock.Now,
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	if _, err := env.Run(context.Background(), "../seed"); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 0, 10, 0, 0, time.UTC)} {
		clock.Set(at)
		if _, err := env.Tasks().Handle(context.Background(), []byte(`{"task":"report"}`)); err != nil {
			t.Fatal(err)
		}
	}
	page, err := os.ReadFile(filepath.Join(dir, "reports", "2026-11.html"))
	if err != nil || !bytes.Contains(page, []byte("<svg")) {
		t.Fatalf("page: %v (%d bytes)", err, len(page))
	}
	src, err := os.ReadFile(filepath.Join(dir, "reports", "2026-11.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Month string            `json:"month"`
		Rows  []json.RawMessage `json:"rows"`
	}
	if err := json.Unmarshal(src, &rep); err != nil || rep.Month != "2026-11" || len(rep.Rows) == 0 {
		t.Fatalf("json: month %q, %d rows, %v; want November's rows from make run", rep.Month, len(rep.Rows), err)
	}
	owner := 0
	for _, f := range outbox(t, dir, "email") {
		body, _ := os.ReadFile(f)
		if bytes.Contains(body, []byte(`"owner@example.jp"`)) {
			owner++
			if !bytes.Contains(body, []byte("http://localhost:3000/studio?report=2026-11")) {
				t.Errorf("the summary has no link to the local studio's report: %s", body)
			}
		}
	}
	if owner != 1 {
		t.Errorf("%d summaries to the owner, want 1", owner)
	}
}
