package daily_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/dynamolocal"
	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/plan"
	"github.com/daifuku/daifuku/shared/flows/daily"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.RunTests(m)) }

var tokyo, _ = time.LoadLocation("Asia/Tokyo")

// morning is 09:00 in Tokyo on a date: when the daily run runs.
func morning(date string) time.Time {
	t, _ := daily.DateAt(date, tokyo)
	return t
}

func lineFriend(id string) *customer.Customer {
	return &customer.Customer{ID: id, Name: "見本 " + id, LINEUserID: "U" + strings.Repeat("0", 31) + id[len(id)-1:],
		Email: strings.ToLower(id) + "@example.jp", Consent: customer.Consent{LINE: true, Email: true}}
}

// put stores customers as the order flow and the importer leave them: ranked
// and with their next due date.
func put(t *testing.T, r *testrig.Rig, cs ...*customer.Customer) {
	t.Helper()
	for _, c := range cs {
		if c.Rank == "" {
			c.Rank = "prospect"
		}
		c.NextDue = r.Daily.Plans.NextVisit(r.Daily.Rules, c, r.Clock.Now())
		if err := r.Store.SaveCustomer(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
}

func decided(rep *daily.Report) string {
	var out []string
	for _, d := range rep.Decisions {
		name := string(d.Kind)
		if d.Step != "" {
			name = d.Plan + "/" + d.Step
		}
		out = append(out, d.CustomerID+":"+name+":"+string(d.Status))
	}
	return strings.Join(out, " ")
}

func TestProspectPlanDay0Day3Day7(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	r.Clock.Set(morning("2026-12-01"))
	p := lineFriend("P1")
	p.SignedUpAt = morning("2026-12-01").Add(-time.Hour)
	put(t, r, p)
	want := map[string]string{
		"2026-12-01": "P1:prospect/welcome:queued",
		"2026-12-02": "",
		"2026-12-04": "P1:prospect/tips:queued",
		"2026-12-08": "P1:prospect/stories:queued",
	}
	for _, date := range []string{"2026-12-01", "2026-12-02", "2026-12-04", "2026-12-08"} {
		r.Clock.Set(morning(date))
		rep, err := r.Daily.Run(ctx, r.Clock.Now(), false)
		if err != nil {
			t.Fatal(err)
		}
		if got := decided(rep); got != want[date] {
			t.Errorf("%s: %q, want %q", date, got, want[date])
		}
		if failed := r.SendQueued(t); failed != 0 {
			t.Fatalf("%s: %d sends failed", date, failed)
		}
	}
	if n := len(r.Capture.Requests("line")); n != 3 {
		t.Errorf("%d LINE messages, want 3", n)
	}
	rec, err := r.Store.Message(ctx, message.NewKey(message.Step, "P1", "plan:prospect:tips:2026-12-01"))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != message.Sent || rec.Plan != "prospect" || rec.PlanVersion != r.Daily.Plans.Version || rec.Step != "tips" || rec.Template != "step/prospect-tips/line" {
		t.Errorf("record = %+v, want sent and attributed to plan prospect v%d step tips", rec, r.Daily.Plans.Version)
	}
}

func TestRunTwiceSendsOnce(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	r.Clock.Set(morning("2026-12-04"))
	p := lineFriend("P1")
	p.SignedUpAt = morning("2026-12-01")
	put(t, r, p)
	for range 2 { // EventBridge Scheduler delivers at least once
		if _, err := r.Daily.Run(ctx, r.Clock.Now(), false); err != nil {
			t.Fatal(err)
		}
		r.SendQueued(t)
	}
	if n := len(r.Capture.Requests("")); n != 1 {
		t.Errorf("%d messages after two runs, want 1", n)
	}
}

func TestLapseStartsTheLapsedPlan(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	r.Clock.Set(morning("2026-12-01"))
	c := lineFriend("R1")
	c.Rank, c.RankSince = "repeater", morning("2026-05-01")
	c.SignedUpAt = morning("2025-01-01")
	c.Purchases = customer.Purchases{Count: 3, TotalSpend: 20000, First: morning("2025-01-01"), Last: morning("2026-08-01")}
	put(t, r, c) // repeater lapses after 120 days without purchase: on 2026-11-30/12-01
	rep, err := r.Daily.Run(ctx, r.Clock.Now(), false)
	if err != nil {
		t.Fatal(err)
	}
	// A repeater has a lapsed plan of its own: the owner's note, which asks why they stopped.
	if rep.Lapsed != 1 || decided(rep) != "R1:repeater:lapsed/owner-note:queued" {
		t.Fatalf("lapsed %d, decisions %q", rep.Lapsed, decided(rep))
	}
	if rec, err := r.Store.Message(ctx, rep.Decisions[0].Key); err != nil || rec.Job.Ask != "why-stopped" || rec.Template != "lapsed/repeater-note" {
		t.Errorf("the owner's note: %+v %v", rec, err)
	}
	got, _ := r.Store.Customer(ctx, "R1")
	last := got.RankHistory[len(got.RankHistory)-1]
	if got.Rank != "repeater:lapsed" || last.Cause != "lapse" || !last.At.Equal(r.Clock.Now()) || got.NextDue != "2026-12-31" {
		t.Errorf("customer = rank %s, last change %+v, next due %s", got.Rank, last, got.NextDue)
	}
}

func TestBirthdaysReadOnlyTodaysThroughTheIndex(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	r.Clock.Set(morning("2026-12-24"))
	var cs []*customer.Customer
	for i := range 365 { // one birthday on every day of a year
		c := lineFriend(fmt.Sprintf("B%03d", i))
		bd := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i)
		if err := c.SetBirthday(bd.Format(time.DateOnly)); err != nil {
			t.Fatal(err)
		}
		c.Rank, c.SignedUpAt = "new", morning("2020-01-01")
		c.Purchases = customer.Purchases{Count: 1, First: r.Clock.Now(), Last: r.Clock.Now()} // not lapsing
		cs = append(cs, c)
	}
	for _, c := range cs {
		if err := r.Store.SaveCustomer(ctx, c); err != nil { // no next due: only the birthday selects them
			t.Fatal(err)
		}
	}
	rep, err := r.Daily.Run(ctx, r.Clock.Now(), false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ItemsRead != 1 || rep.Customers != 1 {
		t.Errorf("read %d items for %d customers; a ledger of 365 has one birthday today", rep.ItemsRead, rep.Customers)
	}
	if d := decided(rep); !strings.HasSuffix(d, ":birthday:queued") {
		t.Errorf("decisions %q", d)
	}
	r.SendQueued(t)
	reqs := r.Capture.Requests("line")
	if len(reqs) != 1 || !strings.Contains(string(reqs[0].Body), r.Daily.Plans.Birthday.CouponCode) {
		t.Errorf("birthday message with the coupon: %d requests", len(reqs))
	}
}

func TestFebruary29(t *testing.T) {
	cases := map[string][]string{
		"2027-02-28": {"02-28", "02-29"}, // common year: leap-day birthdays move to the 28th
		"2028-02-28": {"02-28"},          // leap year: they wait for the 29th
		"2028-02-29": {"02-29"},
		"2100-02-28": {"02-28", "02-29"}, // 2100 is not a leap year
	}
	for date, want := range cases {
		d, _ := plan.ParseDay(date)
		if got := strings.Join(daily.BirthdayKeys(d), ","); got != strings.Join(want, ",") {
			t.Errorf("%s: %s, want %v", date, got, want)
		}
	}
	t.Run("in the ledger", func(t *testing.T) {
		r := testrig.New(t)
		c := lineFriend("L1")
		_ = c.SetBirthday("2000-02-29")
		c.Rank, c.SignedUpAt = "prospect", morning("2027-02-01")
		put(t, r, c)
		rep, err := r.Daily.Run(context.Background(), morning("2027-02-28"), false)
		if err != nil {
			t.Fatal(err)
		}
		if d := decided(rep); d != "L1:birthday:queued" {
			t.Errorf("2027-02-28: %q, want the leap-day birthday", d)
		}
	})
}

func TestQuietHoursDeferThenRelease(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	// A customer in Los Angeles: at 09:00 in Tokyo it is 16:00 the day before there;
	// their birthday message waits for 09:00 on their birthday, their time.
	la, _ := time.LoadLocation("America/Los_Angeles")
	c := lineFriend("LA1")
	c.Timezone = "America/Los_Angeles"
	_ = c.SetBirthday("1990-12-24")
	// A customer with nothing else due: their plan's steps are past, their lapse far off.
	c.Rank, c.SignedUpAt = "new", morning("2026-10-01")
	c.Purchases = customer.Purchases{Count: 1, TotalSpend: 3800, First: morning("2026-10-01"), Last: morning("2026-10-01")}
	put(t, r, c)
	r.Clock.Set(morning("2026-12-24"))
	if _, err := r.Daily.Run(ctx, r.Clock.Now(), false); err != nil {
		t.Fatal(err)
	}
	r.SendQueued(t)
	key := message.NewKey(message.Birthday, "LA1", "birthday:2026")
	rec, _ := r.Store.Message(ctx, key)
	wantAt := time.Date(2026, 12, 24, 9, 0, 0, 0, la)
	if rec.Status != message.Deferred || !rec.NotBefore.Equal(wantAt) || len(r.Capture.Requests("")) != 0 {
		t.Fatalf("record %s not before %v; want deferred to %v, nothing sent", rec.Status, rec.NotBefore.In(la), wantAt)
	}
	// The hourly release before the time does nothing; after it, the message goes once.
	r.Clock.Set(wantAt.Add(-time.Hour))
	if n, _ := r.Daily.Release(ctx, r.Store, r.Clock.Now()); n != 0 {
		t.Errorf("released %d an hour early", n)
	}
	r.Clock.Set(wantAt.Add(10 * time.Minute))
	for range 2 {
		if _, err := r.Daily.Release(ctx, r.Store, r.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		r.SendQueued(t)
	}
	if rec, _ := r.Store.Message(ctx, key); rec.Status != message.Sent || len(r.Capture.Requests("line")) != 1 {
		t.Errorf("after release: %s with %d requests, want sent once", rec.Status, len(r.Capture.Requests("line")))
	}
}

// sentThisWeek records two messages sent to a customer in the days before
// now: the cap (3 in 7 days) has room for one more.
func sentThisWeek(t *testing.T, r *testrig.Rig, customerID string, now time.Time) {
	t.Helper()
	for i, kind := range []message.Kind{message.Step, message.Newsletter} {
		k := message.NewKey(kind, customerID, fmt.Sprint("earlier-", i))
		rec := message.Record{Key: k, Kind: kind, CustomerID: customerID, Status: message.Sent, CreatedAt: now.AddDate(0, 0, -1-i)}
		if _, err := r.Store.CreateMessage(context.Background(), rec, r.Daily.Policy.CapChange(nil, rec)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFrequencyCapKeepsBirthdayOverSteps(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	now := morning("2026-12-08")
	r.Clock.Set(now)
	c := lineFriend("P1")
	_ = c.SetBirthday("1995-12-08")
	c.SignedUpAt = morning("2026-12-01") // the day-7 step falls today too
	put(t, r, c)
	sentThisWeek(t, r, "P1", now)
	rep, err := r.Daily.Run(ctx, now, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := decided(rep); got != "P1:birthday:queued P1:prospect/stories:suppressed" {
		t.Errorf("decisions %q, want the birthday sent and the step held back", got)
	}
	rec, _ := r.Store.Message(ctx, message.NewKey(message.Step, "P1", "plan:prospect:stories:2026-12-01"))
	if rec.Status != message.Suppressed || !strings.Contains(rec.Reason, "frequency cap") {
		t.Errorf("suppressed step record = %+v, want its reason kept", rec)
	}
}

// A customer who stopped the birthday topic: the birthday is skipped when
// it is decided, with why, and so takes no place under the cap: the step
// due the same day, which the cap would have held back, goes.
func TestAStoppedTopicIsSkippedWhenDecidedAndLeavesTheCapAlone(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	now := morning("2026-12-08")
	r.Clock.Set(now)
	c := lineFriend("P1")
	_ = c.SetBirthday("1995-12-08")
	c.SignedUpAt = morning("2026-12-01")
	c.SetTopic("birthday", false, morning("2026-11-01"), customer.ByPreferencePage, "test")
	put(t, r, c)
	sentThisWeek(t, r, "P1", now)
	rep, err := r.Daily.Run(ctx, now, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := decided(rep); got != "P1:birthday:skipped P1:prospect/stories:queued" {
		t.Errorf("decisions %q, want the birthday skipped and the step sent", got)
	}
	rec, _ := r.Store.Message(ctx, message.NewKey(message.Birthday, "P1", "birthday:2026"))
	if rec == nil || !strings.Contains(rec.Reason, "birthday") {
		t.Errorf("skipped birthday record = %+v, want the stopped topic named", rec)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	r.Clock.Set(morning("2026-12-04"))
	p := lineFriend("P1")
	p.SignedUpAt = morning("2026-12-01")
	put(t, r, p)
	before, _ := r.Store.Customer(ctx, "P1")
	rep, err := r.Daily.Run(ctx, r.Clock.Now(), true)
	if err != nil {
		t.Fatal(err)
	}
	if decided(rep) != "P1:prospect/tips:queued" {
		t.Errorf("dry run decided %q", decided(rep))
	}
	after, _ := r.Store.Customer(ctx, "P1")
	if r.Queue.Len() != 0 || after.Version != before.Version {
		t.Error("a dry run queued or wrote")
	}
	if _, err := r.Store.Message(ctx, rep.Decisions[0].Key); err == nil {
		t.Error("a dry run recorded a message")
	}
}

func TestSurpriseGiftsShareAndNoRepeat(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	r.Clock.Set(morning("2026-11-30"))
	var cs []*customer.Customer
	for i := range 60 {
		c := lineFriend(fmt.Sprintf("V%02d", i))
		c.Rank, c.SignedUpAt = "royal", morning("2024-01-01")
		c.Purchases = customer.Purchases{Count: 9, TotalSpend: 150000, First: morning("2024-01-01"), Last: morning("2026-11-20")}
		if i >= 40 {
			c.Rank, c.Purchases.Count, c.Purchases.TotalSpend = "semi-royal", 5, 60000
		}
		cs = append(cs, c)
	}
	if err := r.Store.PutCustomers(ctx, cs); err != nil {
		t.Fatal(err)
	}
	picked := func(date string) map[string]bool {
		rep, err := r.Daily.Run(ctx, morning(date), false)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, d := range rep.Decisions {
			if d.Kind == message.Surprise {
				out[d.CustomerID] = true
			}
		}
		return out
	}
	dec := picked("2026-12-01")
	royal, semi := 0, 0
	for id := range dec {
		if id < "V40" {
			royal++
		} else {
			semi++
		}
	}
	if royal != 2 || semi != 1 {
		t.Errorf("picked %d royal and %d semi-royal, want 5%% of 40 and of 20: 2 and 1", royal, semi)
	}
	if again := picked("2026-12-01"); len(again) != 0 {
		t.Errorf("a repeated run picked %v again", again)
	}
	if other := picked("2026-12-02"); len(other) != 0 {
		t.Errorf("surprises on a day that is not the surprise day: %v", other)
	}
	jan := picked("2027-01-01")
	for id := range jan {
		if dec[id] {
			t.Errorf("%s got a second surprise within 180 days", id)
		}
	}
	if len(jan) != 3 {
		t.Errorf("January picked %d, want 3", len(jan))
	}
	r.SendQueued(t)
	if n := len(r.Capture.Requests("line")); n != 6 {
		t.Errorf("%d surprise messages sent, want 6", n)
	}
}
