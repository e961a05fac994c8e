package referrals_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/dynamolocal"
	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/message"
	pts "github.com/daifuku/daifuku/shared/domain/points"
	"github.com/daifuku/daifuku/shared/domain/rank"
	"github.com/daifuku/daifuku/shared/domain/referral"
	"github.com/daifuku/daifuku/shared/domain/webhook"
	"github.com/daifuku/daifuku/shared/flows/referrals"
	"github.com/daifuku/daifuku/shared/flows/timeline"
	"github.com/daifuku/daifuku/shared/flows/webhooks"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.RunTests(m)) }

// referrer imports a customer who will introduce others, and returns them with their code.
func referrer(t *testing.T, r *testrig.Rig, c *customer.Customer) *customer.Customer {
	t.Helper()
	ctx := context.Background()
	if _, err := r.Intake.ImportCustomer(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := r.Store.Customer(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := referral.Normalize(got.ReferralCode); !ok {
		t.Fatalf("imported customer has no usable referral code: %q", got.ReferralCode)
	}
	return got
}

func emailCustomer(id, name string) *customer.Customer {
	return &customer.Customer{ID: id, Name: name, Email: strings.ToLower(id) + "@example.jp", PreferredChannel: customer.Email,
		Consent: customer.Consent{Email: true}}
}

func order(id, customerID, code string, at time.Time) customer.Order {
	return customer.Order{ID: id, CustomerID: customerID, Total: 3800, OrderedAt: at, ReferralCode: code,
		Contact: customer.Contact{Name: "紹介 された", Email: strings.ToLower(customerID) + "@example.jp"}}
}

func count(t *testing.T, r *testrig.Rig, id string) int {
	t.Helper()
	c, err := r.Store.Customer(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c.ReferralCount
}

// queued counts the jobs of a kind waiting for the sender, leaving them queued.
func queued(t *testing.T, r *testrig.Rig, kind message.Kind) int {
	t.Helper()
	ev := r.Queue.Drain(1000)
	n := 0
	var jobs []message.Job
	for _, m := range ev.Records {
		var j message.Job
		if err := json.Unmarshal([]byte(m.Body), &j); err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, j)
		if j.Kind == kind {
			n++
		}
	}
	if err := r.Queue.Enqueue(context.Background(), jobs...); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOrderWithACodeCreditsItsReferrerOnce(t *testing.T) {
	r := testrig.New(t)
	ctx := context.Background()
	c1 := referrer(t, r, emailCustomer("C1", "紹介 花子"))
	o := order("O-2", "C2", strings.ToLower(c1.ReferralCode), r.Clock.Now().Add(-time.Hour)) // typed in lower case
	res, err := r.Intake.RecordOrder(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Referral == nil || res.Referral.Status != referral.Credited || res.Referral.ReferrerID != "C1" || res.Referral.ThankYou == "" {
		t.Fatalf("referral = %+v, want credited to C1 with a thank-you", res.Referral)
	}
	rec, err := r.Store.Referral(ctx, referral.CreditID("C2"))
	if err != nil {
		t.Fatal(err)
	}
	if rec.ReferrerID != "C1" || rec.Via != referral.ViaOrder || rec.OrderID != "O-2" || rec.At.IsZero() {
		t.Errorf("referral record = %+v", rec)
	}
	if n := count(t, r, "C1"); n != 1 {
		t.Errorf("C1 referral count = %d, want 1", n)
	}
	// The buyer has a code of their own now.
	if c2, _ := r.Store.Customer(ctx, "C2"); c2.ReferralCode == "" || c2.ReferralCode == c1.ReferralCode {
		t.Errorf("C2's code = %q (C1's %q)", c2.ReferralCode, c1.ReferralCode)
	}

	// The shop retries the order: nothing is credited again.
	again, err := r.Intake.RecordOrder(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate || again.Referral == nil || again.Referral.Status != referral.Credited || !again.Referral.Repeated {
		t.Fatalf("retried order: %+v referral %+v, want a duplicate whose referral is repeated", again, again.Referral)
	}
	if n := count(t, r, "C1"); n != 1 {
		t.Errorf("C1 referral count after the retry = %d, want 1", n)
	}
	if n := queued(t, r, message.Referral); n < 1 {
		t.Fatalf("%d referral thank-yous queued", n)
	}
	if failed := r.SendQueued(t); failed != 0 {
		for _, id := range []string{"C1", "C2"} {
			ms, _ := r.Store.MessagesOf(ctx, id, 25)
			for _, m := range ms {
				t.Logf("%s %s %s %s", id, m.Kind, m.Status, m.Reason)
			}
		}
		t.Fatalf("%d sends failed", failed)
	}
	thanks, err := r.Store.Message(ctx, referrals.ThankYouKey(*rec))
	if err != nil {
		t.Fatal(err)
	}
	if thanks.Status != message.Sent || thanks.CustomerID != "C1" {
		t.Fatalf("thank-you = %s to %s, want sent to C1", thanks.Status, thanks.CustomerID)
	}
	var sent []string
	for _, q := range r.Capture.Requests("email") {
		if text := mailText(t, q.Body); strings.Contains(text, "ご紹介") {
			sent = append(sent, text)
		}
	}
	if len(sent) != 1 {
		t.Fatalf("%d referral emails sent, want exactly 1", len(sent))
	}
	for _, secret := range []string{"c2@example.jp", "紹介 された", "C2"} {
		if strings.Contains(sent[0], secret) {
			t.Errorf("the referrer's thank-you reveals the referred customer (%q)", secret)
		}
	}
	if !strings.Contains(sent[0], c1.ReferralCode) || !strings.Contains(sent[0], "ref="+c1.ReferralCode) {
		t.Errorf("the thank-you does not show the referrer's own code and link")
	}
}

// flaky fails to record the thank-you: the credit is committed, what follows it is not.
type flaky struct {
	referrals.Ledger
	fail bool
}

func (f *flaky) CreateMessage(ctx context.Context, rec message.Record, capped delivery.CapChange) (bool, error) {
	if f.fail {
		return false, errors.New("connection reset")
	}
	return f.Ledger.CreateMessage(ctx, rec, capped)
}

func TestRetriedOrderFinishesAnInterruptedCredit(t *testing.T) {
	r := testrig.New(t)
	ctx := context.Background()
	c1 := referrer(t, r, emailCustomer("C1", "紹介 花子"))
	broken := *r.Referrals
	broken.Ledger = &flaky{Ledger: r.Store, fail: true}
	in := *r.Intake
	in.Referrals = &broken
	o := order("O-2", "C2", c1.ReferralCode, r.Clock.Now())
	if _, err := in.RecordOrder(ctx, o); err == nil {
		t.Fatal("an interrupted referral step reported success: the shop would not retry")
	}
	if n := count(t, r, "C1"); n != 1 {
		t.Fatalf("count = %d: the credit itself was committed before the failure", n)
	}
	if _, err := r.Store.Message(ctx, message.NewKey(message.Referral, "C1", "referral:C2")); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("thank-you recorded despite the failure: %v", err)
	}
	res, err := r.Intake.RecordOrder(ctx, o) // the shop's retry
	if err != nil {
		t.Fatal(err)
	}
	if !res.Duplicate || res.Referral == nil || !res.Referral.Repeated || res.Referral.ThankYou == "" {
		t.Fatalf("retry: %+v %+v", res, res.Referral)
	}
	if _, err := r.Store.Message(ctx, res.Referral.ThankYou); err != nil {
		t.Fatalf("the retry did not finish the thank-you: %v", err)
	}
	if n := count(t, r, "C1"); n != 1 {
		t.Errorf("count after the retry = %d, want 1", n)
	}
}

const lineEvents = `[
{"type":"follow","mode":"active","timestamp":1795395600000,"source":{"type":"user","userId":"Unewfriend"},"replyToken":"r1","webhookEventId":"01FOLLOW","deliveryContext":{"isRedelivery":false},"follow":{"isUnblocked":false}},
{"type":"message","mode":"active","timestamp":1795395660000,"source":{"type":"user","userId":"Unewfriend"},"replyToken":"r2","webhookEventId":"01CODE","deliveryContext":{"isRedelivery":%s},"message":{"id":"m1","type":"text","quoteToken":"q","text":"紹介コード: %s"}}
]`

func postLINE(t *testing.T, r *testrig.Rig, redelivery bool, code string) {
	t.Helper()
	var evs []json.RawMessage
	src := strings.Replace(strings.Replace(lineEvents, "%s", map[bool]string{true: "true", false: "false"}[redelivery], 1), "%s", code, 1)
	if err := json.Unmarshal([]byte(src), &evs); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Inbox.Accept(context.Background(), webhook.LINE, evs); err != nil {
		t.Fatal(err)
	}
	if failed := r.ProcessWebhooks(t); failed != 0 {
		t.Fatalf("%d webhook batches failed", failed)
	}
}

func TestLINEFriendSendingACodeCreditsOnce(t *testing.T) {
	r := testrig.New(t)
	ctx := context.Background()
	c1 := referrer(t, r, emailCustomer("C1", "紹介 花子"))
	postLINE(t, r, false, c1.ReferralCode)
	friend, err := r.Store.Customer(ctx, webhooks.ProspectID("Unewfriend"))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := r.Store.Referral(ctx, referral.CreditID(friend.ID))
	if err != nil {
		t.Fatalf("no credit for the new friend: %v", err)
	}
	if rec.ReferrerID != "C1" || rec.Via != referral.ViaLINE || rec.EventID != "01CODE" {
		t.Errorf("referral = %+v", rec)
	}
	if friend.ReferralCode == "" {
		t.Error("the new friend has no referral code of their own")
	}
	// The code message is not feedback: nothing the friend wrote is kept as words.
	fbs, err := r.Store.FeedbackOf(ctx, friend.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(fbs) != 0 {
		t.Errorf("the referral message was stored as feedback: %+v", fbs)
	}
	// LINE redelivers the same events (the same webhook event ids).
	postLINE(t, r, true, c1.ReferralCode)
	if n := count(t, r, "C1"); n != 1 {
		t.Errorf("C1 count after a redelivery = %d, want 1", n)
	}
	msgs, err := r.Store.MessagesOf(ctx, "C1", 25)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range msgs {
		if m.Kind == message.Referral {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d referral thank-yous recorded for C1, want 1", n)
	}
}

func TestLINECodeCreditIsIdempotentEvenWhenTheEventIsSeen(t *testing.T) {
	// The event's marker was written but the credit never ran (the worker
	// stopped in between): the redelivery, refused as seen, still credits.
	r := testrig.New(t)
	c1 := referrer(t, r, emailCustomer("C1", "紹介 花子"))
	saved := r.Webhooks.Referrals
	r.Webhooks.Referrals = nil // the first delivery: applied, not credited
	postLINE(t, r, false, c1.ReferralCode)
	r.Webhooks.Referrals = saved
	if n := count(t, r, "C1"); n != 0 {
		t.Fatalf("count = %d before the redelivery", n)
	}
	postLINE(t, r, true, c1.ReferralCode)
	if n := count(t, r, "C1"); n != 1 {
		t.Fatalf("count after the redelivery = %d, want 1", n)
	}
}

func TestRefusalsAreRecordedAndChangeNothingElse(t *testing.T) {
	r := testrig.New(t)
	ctx := context.Background()
	c1 := referrer(t, r, emailCustomer("C1", "紹介 花子"))
	c3 := referrer(t, r, emailCustomer("C3", "別の 紹介者"))
	at := r.Clock.Now().Add(-time.Hour)
	// C2 is referred by C1 first.
	if res, err := r.Intake.RecordOrder(ctx, order("O-2", "C2", c1.ReferralCode, at)); err != nil || res.Referral.Status != referral.Credited {
		t.Fatalf("first credit: %+v %v", res.Referral, err)
	}
	// The same person under another id: C1's email on a new customer id.
	self := order("O-9", "C9", c1.ReferralCode, at)
	self.Contact.Email = "C1@example.jp" // as typed, in another case
	tests := []struct {
		name   string
		order  customer.Order
		reason string
	}{
		{"own code", order("O-1", "C1", c1.ReferralCode, at), referral.SelfReferral},
		{"the same person under another id", self, referral.SelfReferral},
		{"a second credit for the same customer", order("O-3", "C2", c3.ReferralCode, at), referral.AlreadyReferred},
		{"an unknown code", order("O-4", "C4", "ZZZZZZ", at), referral.UnknownCode},
		{"not a code at all", order("O-5", "C5", "hello!", at), referral.UnknownCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before1, before3 := count(t, r, "C1"), count(t, r, "C3")
			jobs := queued(t, r, message.Referral)
			res, err := r.Intake.RecordOrder(ctx, tt.order)
			if err != nil {
				t.Fatal(err)
			}
			if res.Referral == nil || res.Referral.Status != referral.Refused || res.Referral.Reason != tt.reason {
				t.Fatalf("referral = %+v, want refused: %s", res.Referral, tt.reason)
			}
			rec, err := r.Store.Referral(ctx, referral.RefusalID(referral.ViaOrder, tt.order.ID))
			if err != nil {
				t.Fatalf("refusal not recorded: %v", err)
			}
			if rec.Status != referral.Refused || rec.Reason != tt.reason || rec.ReferredID != tt.order.CustomerID {
				t.Errorf("refusal record = %+v", rec)
			}
			if count(t, r, "C1") != before1 || count(t, r, "C3") != before3 {
				t.Error("a refused referral changed a count")
			}
			if queued(t, r, message.Referral) != jobs {
				t.Error("a refused referral queued a thank-you")
			}
			// The order is retried: the refusal is recorded once, and stays a refusal.
			again, err := r.Intake.RecordOrder(ctx, tt.order)
			if err != nil || again.Referral.Status != referral.Refused || !again.Referral.Repeated {
				t.Errorf("retried refusal: %+v %v", again.Referral, err)
			}
			tl, err := timeline.Of(ctx, r.Store, tt.order.CustomerID)
			if err != nil {
				t.Fatal(err)
			}
			if !hasEntry(tl, "referral refused ("+tt.reason+")") {
				t.Errorf("the refusal is not on the timeline: %v", summaries(tl))
			}
		})
	}
	if c2, _ := r.Store.Referral(ctx, referral.CreditID("C2")); c2.ReferrerID != "C1" {
		t.Errorf("C2's credit changed to %s", c2.ReferrerID)
	}
}

func hasEntry(tl *timeline.Timeline, prefix string) bool {
	for _, e := range tl.Entries {
		if e.Type == timeline.Referral && strings.HasPrefix(e.Summary, prefix) {
			return true
		}
	}
	return false
}

func summaries(tl *timeline.Timeline) []string {
	var out []string
	for _, e := range tl.Entries {
		out = append(out, e.Summary)
	}
	return out
}

func TestTimelineShowsBothSides(t *testing.T) {
	r := testrig.New(t)
	ctx := context.Background()
	c1 := referrer(t, r, emailCustomer("C1", "紹介 花子"))
	if _, err := r.Intake.RecordOrder(ctx, order("O-2", "C2", c1.ReferralCode, r.Clock.Now())); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"C1": "referred C2 via order O-2", "C2": "referred by C1 via order O-2"} {
		tl, err := timeline.Of(ctx, r.Store, id)
		if err != nil {
			t.Fatal(err)
		}
		if !hasEntry(tl, want) {
			t.Errorf("%s's timeline lacks %q: %v", id, want, summaries(tl))
		}
	}
}

func TestThankYouSpeaksInTheVoiceOfTheReferrersRank(t *testing.T) {
	r := testrig.New(t)
	ctx := context.Background()
	royal := emailCustomer("R1", "上得意 様子")
	royal.Purchases = customer.Purchases{TotalSpend: 200_000, Count: 10, First: r.Clock.Now().AddDate(-2, 0, 0), Last: r.Clock.Now().AddDate(0, -1, 0)}
	c := referrer(t, r, royal)
	if c.Rank != "royal" {
		t.Fatalf("rank = %s, want royal", c.Rank)
	}
	for i, id := range []string{"N1", "N2"} {
		if _, err := r.Intake.RecordOrder(ctx, order("O-"+id, id, c.ReferralCode, r.Clock.Now().Add(time.Duration(i)*time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	if failed := r.SendQueued(t); failed != 0 {
		t.Fatalf("%d sends failed", failed)
	}
	for _, id := range []string{"N1", "N2"} {
		rec, err := r.Store.Message(ctx, message.NewKey(message.Referral, "R1", "referral:"+id))
		if err != nil {
			t.Fatal(err)
		}
		if rec.Status != message.Sent || !strings.HasPrefix(rec.Template, "referral/royal/") {
			t.Errorf("thank-you for %s: %s with %q, want sent with referral/royal", id, rec.Status, rec.Template)
		}
	}
	var last string
	for _, q := range r.Capture.Requests("email") {
		if text := mailText(t, q.Body); strings.Contains(text, "店主より") && strings.Contains(text, "ご紹介") {
			last = text
		}
	}
	// The count the template shows is the referrer's, as stored: two introductions.
	if !strings.Contains(last, "これまでに2名様をご紹介いただいた") {
		t.Errorf("the second thank-you does not show the count of 2")
	}
}

const ambassadorRules = `
ranks:
  - id: ambassador
    label: アンバサダー
    when:
      - referrals >= 1
  - id: new
    when:
      - purchase_count >= 1
  - id: prospect
`

func TestRankRulesCountReferrals(t *testing.T) {
	r := testrig.New(t)
	ctx := context.Background()
	rules, err := rank.ParseRules("ranks.yaml", []byte(ambassadorRules))
	if err != nil {
		t.Fatal(err)
	}
	p := *r.Referrals
	p.Rules, p.Plans = rules, nil
	c1 := referrer(t, r, emailCustomer("C1", "紹介 花子"))
	in := *r.Intake
	in.Referrals = &p
	if _, err := in.RecordOrder(ctx, order("O-2", "C2", c1.ReferralCode, r.Clock.Now())); err != nil {
		t.Fatal(err)
	}
	after, err := r.Store.Customer(ctx, "C1")
	if err != nil {
		t.Fatal(err)
	}
	last := after.RankHistory[len(after.RankHistory)-1]
	if after.Rank != "ambassador" || last.Cause != "referral of C2" {
		t.Errorf("rank = %s (%+v), want ambassador by the referral", after.Rank, last)
	}
}

// A referral's points go on the real points card, once however often the
// order is retried, and never for a refused code.
func TestPointsAreCreditedOncePerReferral(t *testing.T) {
	r := testrig.New(t)
	ctx := context.Background()
	if r.Referrals.Points == nil {
		t.Fatal("the app does not give referrals the points card")
	}
	p := *r.Referrals
	p.Config.ReferrerPoints, p.Config.ReferredPoints = 500, 200
	in := *r.Intake
	in.Referrals = &p
	c1 := referrer(t, r, emailCustomer("C1", "紹介 花子"))
	o := order("O-2", "C2", c1.ReferralCode, r.Clock.Now())
	for range 2 { // the order, and its retry
		if _, err := in.RecordOrder(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := in.RecordOrder(ctx, order("O-3", "C3", "ZZZZZZ", r.Clock.Now())); err != nil {
		t.Fatal(err)
	}
	credits := func(id string) (n int64, entries []string) {
		card, err := r.Points.Card(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range card.Entries {
			if e.Reason == pts.Referral {
				n += e.Points
				entries = append(entries, e.ID)
			}
		}
		return n, entries
	}
	for id, want := range map[string]int64{"C1": 500, "C2": 200, "C3": 0} {
		if n, entries := credits(id); n != want || (want > 0 && len(entries) != 1) {
			t.Errorf("%s: referral points %d in %v, want %d in one entry", id, n, entries, want)
		}
	}
	if card, _ := r.Points.Card(ctx, "C1"); card.Balance != 500 {
		t.Errorf("the referrer's balance is %d, want 500", card.Balance)
	}
}

func TestCodesAreDrawnOnceAndFoundAgain(t *testing.T) {
	r := testrig.New(t)
	ctx := context.Background()
	c := referrer(t, r, emailCustomer("C1", "紹介 花子"))
	var wg sync.WaitGroup
	codes := make([]string, 4)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _ = r.Referrals.Ensure(ctx, "C1")
		}()
	}
	wg.Wait()
	for _, code := range codes {
		if code != c.ReferralCode {
			t.Errorf("codes = %v, want %s every time", codes, c.ReferralCode)
		}
	}
	if owner, err := r.Store.ReferralCodeOwner(ctx, c.ReferralCode); err != nil || owner != "C1" {
		t.Errorf("owner of %s = %q, %v", c.ReferralCode, owner, err)
	}
	var ids []string
	for _, r := range c.ReferralCode {
		if strings.ContainsRune("0O1IL", r) {
			ids = append(ids, string(r))
		}
	}
	if len(ids) > 0 {
		t.Errorf("code %s has characters people confuse: %v", c.ReferralCode, ids)
	}
}

// mailText is what a SendGrid request shows its reader: subject and contents
// (not the custom_args that tie events to the message).
func mailText(t *testing.T, body []byte) string {
	t.Helper()
	var m struct {
		Subject string `json:"subject"`
		Content []struct {
			Value string `json:"value"`
		} `json:"content"`
		Personalizations []struct {
			Subject string `json:"subject"`
		} `json:"personalizations"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	out := m.Subject
	for _, p := range m.Personalizations {
		out += "\n" + p.Subject
	}
	for _, c := range m.Content {
		out += "\n" + c.Value
	}
	return out
}
