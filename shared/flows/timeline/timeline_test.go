package timeline_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/dynamolocal"
	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/adapters/dynamo"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/feedback"
	"github.com/daifuku/daifuku/shared/flows/timeline"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.RunTests(m)) }

// A customer's history, newest first: orders, the rank they climbed,
// messages and what became of them, what they said, and their opt-out. Read
// through the customer and its indexes, never a Scan.
func TestTimelineShowsEverythingNewestFirst(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	start := r.Clock.Now()
	for i, id := range []string{"O1", "O2"} {
		o := customer.Order{ID: id, CustomerID: "C1", Total: 3800, OrderedAt: r.Clock.Now(),
			Items:   []customer.Item{{Name: "益子焼 マグカップ", Quantity: 1, Price: 3800}},
			Contact: customer.Contact{Name: "佐藤 花子", Email: "hanako@example.jp"}}
		if _, err := r.Intake.RecordOrder(ctx, o); err != nil {
			t.Fatal(err)
		}
		r.SendQueued(t)
		r.Clock.Advance(time.Duration(i+1) * time.Hour)
	}
	fb := feedback.Feedback{ID: "email-1", CustomerID: "C1", Channel: customer.Email, Type: feedback.Comment, Text: "届きました", At: r.Clock.Now()}
	if err := r.Store.SaveFeedback(ctx, fb); err != nil {
		t.Fatal(err)
	}
	r.Clock.Advance(time.Hour)
	if err := r.Webhooks.OptOut(ctx, "C1", customer.Email); err != nil {
		t.Fatal(err)
	}

	counted, ops := testrig.Counting(r.DB)
	tl, err := timeline.Of(ctx, dynamo.New(counted, r.Tables), "C1")
	if err != nil {
		t.Fatal(err)
	}
	if ops.Of("Scan") != 0 || ops.Of("Query") != 8 || ops.Of("GetItem") != 1 {
		t.Errorf("operations %v; want one GetItem and eight queries (messages, orders, feedback, events, referrals both ways, the points card, the consent records), no Scan", ops.All())
	}
	count := map[string]int{}
	for i, e := range tl.Entries {
		count[e.Type]++
		if i > 0 && e.At.After(tl.Entries[i-1].At) {
			t.Errorf("entry %d (%s at %v) is newer than the one before it", i, e.Type, e.At)
		}
		if e.Summary == "" {
			t.Errorf("entry %d (%s) has no summary", i, e.Type)
		}
	}
	want := map[string]int{timeline.Order: 2, timeline.Message: 2, timeline.RankChange: 2, timeline.Feedback: 1, timeline.Consent: 2,
		timeline.Points: 2}
	for typ, n := range want {
		if count[typ] != n {
			t.Errorf("%d %s entries, want %d (all: %v)", count[typ], typ, n, count)
		}
	}
	if first := tl.Entries[0]; first.Type != timeline.Consent || first.Consent.How != customer.ByUnsubscribeLink || first.Consent.Consent {
		t.Errorf("newest entry %+v, want the opt-out", first)
	}
	// The consent given on the first order's form.
	if e := tl.Entries; !slices.ContainsFunc(e, func(e timeline.Entry) bool {
		return e.Type == timeline.Consent && e.Consent.How == customer.ByOrderForm && e.Consent.Consent && e.Consent.Channel == customer.Email
	}) {
		t.Errorf("entries %+v, want the order form's consent among them", e)
	}
	if last := tl.Entries[len(tl.Entries)-1]; !last.At.Equal(start) {
		t.Errorf("oldest entry at %v, want the first order's %v", last.At, start)
	}
	for _, e := range tl.Entries {
		if e.Type == timeline.Points && (e.Points.Reason != "earn" || e.Points.Points != 38 || !strings.HasPrefix(e.Summary, "earn +38 (order O")) {
			t.Errorf("points entry %+v (%s): want each order's 38 points earned", e.Points, e.Summary)
		}
		if e.Type == timeline.Message && (e.Message.Status != "sent" || e.Message.SentAt.IsZero() || e.Message.Template == "") {
			t.Errorf("message entry %+v: want sent, with its template and time", e.Message)
		}
	}
}
