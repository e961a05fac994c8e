package pointcard_test

import (
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain/points"
	"github.com/daifuku/daifuku/templates"
)

var tokyo, _ = time.LoadLocation("Asia/Tokyo")

// withCard gives the rig's order flow and daily run a points card of its own.
func withCard(t *testing.T, r *testrig.Rig, src string) {
	t.Helper()
	c, err := points.ParseConfig("points.yaml", []byte(src), points.Known{})
	if err != nil {
		t.Fatal(err)
	}
	r.Intake.Points, r.Daily.Points, r.Points.Config = c, c, c
}

// runDaily runs the schedule every morning (09:00 in Tokyo) from..to, both included.
func runDaily(t *testing.T, r *testrig.Rig, from, to string) {
	t.Helper()
	d, _ := time.ParseInLocation(time.DateOnly, from, tokyo)
	end, _ := time.ParseInLocation(time.DateOnly, to, tokyo)
	for ; !d.After(end); d = d.AddDate(0, 0, 1) {
		runAt(t, r, d.Add(9*time.Hour))
	}
}

func runAt(t *testing.T, r *testrig.Rig, at time.Time) {
	t.Helper()
	r.Clock.Set(at)
	if _, err := r.Daily.Run(ctx, at, false); err != nil {
		t.Fatalf("daily run at %s: %v", at, err)
	}
}

func expired(t *testing.T, r *testrig.Rig, id string) (n int, pts int64) {
	t.Helper()
	_, es := card(t, r, id)
	for _, e := range es {
		if e.Reason == points.Expire {
			n++
			pts -= e.Points
		}
	}
	return n, pts
}

// Points earned at 2026-01-31 15:30 UTC were earned on 1 February in Tokyo
// and on 31 January in Los Angeles: with a month's expiry, the Tokyo
// customer can use them until 1 March (Tokyo), the Los Angeles customer
// until 28 February (Los Angeles), and each loses them when their own day
// after that begins, not a day earlier.
func TestPointsExpireAcrossAMonthBoundaryInTheCustomersZone(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	withCard(t, r, "earn: {yen: 100, points: 1, rounding: floor}\nexpiry: {months: 1}\n")
	at := time.Date(2026, 1, 31, 15, 30, 0, 0, time.UTC)
	r.Clock.Set(at)
	tok := order("O-T", "C-T", 5000, 0, at)
	la := order("O-L", "C-L", 3000, 0, at)
	la.Contact.Timezone = "America/Los_Angeles"
	record(t, r, tok)
	record(t, r, la)
	if p, _ := card(t, r, "C-T"); len(p.Lots) != 1 || p.Lots[0].Until != "2026-03-01" || p.ExpireOn != "2026-03-02" {
		t.Fatalf("Tokyo card %+v, want 50 points usable until 2026-03-01", p)
	}
	if p, _ := card(t, r, "C-L"); len(p.Lots) != 1 || p.Lots[0].Until != "2026-02-28" || p.ExpireOn != "2026-03-01" {
		t.Fatalf("Los Angeles card %+v, want 30 points usable until 2026-02-28 (its own 31 January + 1 month)", p)
	}
	runDaily(t, r, "2026-02-01", "2026-02-28")
	// 1 March 09:00 in Tokyo is 28 February 16:00 in Los Angeles: the last
	// valid day of both.
	runAt(t, r, time.Date(2026, 3, 1, 9, 0, 0, 0, tokyo))
	if n, _ := expired(t, r, "C-L"); n != 0 {
		t.Errorf("Los Angeles points expired on their last valid day there (%d entries)", n)
	}
	if n, _ := expired(t, r, "C-T"); n != 0 {
		t.Errorf("Tokyo points expired on their last valid day there (%d entries)", n)
	}
	// 1 March 19:00 in Tokyo is 1 March 02:00 in Los Angeles: only there are they past.
	runAt(t, r, time.Date(2026, 3, 1, 19, 0, 0, 0, tokyo))
	if n, pts := expired(t, r, "C-L"); n != 1 || pts != 30 {
		t.Errorf("Los Angeles: %d expire entries (%d points), want its 30 points expired on its 1 March", n, pts)
	}
	if n, _ := expired(t, r, "C-T"); n != 0 {
		t.Errorf("Tokyo points expired on 1 March in Tokyo, their last valid day")
	}
	// 2 March 09:00 in Tokyo: the Tokyo points are past too. A second run expires nothing more.
	for range 2 {
		runAt(t, r, time.Date(2026, 3, 2, 9, 0, 0, 0, tokyo))
	}
	for _, id := range []string{"C-T", "C-L"} {
		p, es := card(t, r, id)
		n, _ := expired(t, r, id)
		if n != 1 || p.Balance != 0 || len(p.Lots) != 0 || es[len(es)-1].Balance != 0 {
			t.Errorf("%s: %d expire entries, card %+v; want one, and nothing left", id, n, p)
		}
	}
}

// Expiry takes the oldest lot, and never points already spent: 100 points
// earned in January and 50 in February; 120 spent in February leave 30 of
// February's, and January's expiry takes nothing.
func TestExpiryTakesTheOldestLotsAndNeverSpentPoints(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	withCard(t, r, "earn: {yen: 100, points: 1, rounding: floor}\nexpiry: {months: 1}\n")
	jan := time.Date(2026, 1, 10, 12, 0, 0, 0, tokyo)
	r.Clock.Set(jan)
	record(t, r, order("O1", "C1", 10000, 0, jan)) // 100 usable until 2026-02-10
	runDaily(t, r, "2026-01-11", "2026-01-20")
	feb := time.Date(2026, 1, 20, 12, 0, 0, 0, tokyo)
	r.Clock.Set(feb)
	record(t, r, order("O2", "C1", 5000, 0, feb))   // 50 usable until 2026-02-20
	record(t, r, order("O3", "C1", 2120, 120, feb)) // spends 100 of January's, 20 of the 20th's; earns 20
	runDaily(t, r, "2026-01-21", "2026-02-11")
	p, _ := card(t, r, "C1")
	if n, _ := expired(t, r, "C1"); n != 0 || p.Balance != 50 {
		t.Errorf("after January's lot's expiry: %d expire entries, card %+v; want nothing expired (it was spent), 50 left", n, p)
	}
	runDaily(t, r, "2026-02-12", "2026-02-21")
	p, _ = card(t, r, "C1")
	if n, pts := expired(t, r, "C1"); n != 1 || pts != 50 || p.Balance != 0 {
		t.Errorf("after the 20th's expiry: %d entries of %d points, card %+v; want the 30 left of O2's and O3's 20, one lot", n, pts, p)
	}
}

// The reminder goes once, N days before the last valid day, as a message
// of kind points through the usual path, and not to a customer who did
// not agree to hear from the shop.
func TestExpiryReminderGoesOnceAndOnlyWithConsent(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	withCard(t, r, "earn: {yen: 100, points: 1, rounding: floor}\nexpiry: {months: 1}\nreminder: {days_before: 7}\n")
	at := time.Date(2026, 2, 1, 10, 0, 0, 0, tokyo)
	r.Clock.Set(at)
	record(t, r, order("O1", "C1", 12800, 0, at)) // 128 usable until 2026-03-01: reminder on 2026-02-22
	no := order("O2", "C2", 12800, 0, at)
	no.Contact.EmailConsent = new(bool)
	record(t, r, no)
	r.SendQueued(t)
	sentBefore := len(r.Capture.Requests("email"))

	runDaily(t, r, "2026-02-02", "2026-02-21")
	if n := len(pointsMessages(t, r, "C1")); n != 0 {
		t.Fatalf("%d reminders before the reminder's day", n)
	}
	runDaily(t, r, "2026-02-22", "2026-02-22")
	runDaily(t, r, "2026-02-22", "2026-02-25") // the 22nd again (a repeated run), and the days after
	r.SendQueued(t)
	ms := pointsMessages(t, r, "C1")
	if len(ms) != 1 || ms[0].Key != "points|C1|points-expiry:2026-03-01" || ms[0].Status != "sent" || !strings.HasPrefix(ms[0].Template, "points/expiry-reminder") {
		t.Fatalf("C1's points messages: %+v; want one reminder, sent", ms)
	}
	var reminders []string
	for _, m := range r.Capture.Requests("email")[sentBefore:] {
		if body := string(m.Body); strings.Contains(body, "ポイントの有効期限") {
			reminders = append(reminders, body)
		}
	}
	if len(reminders) != 1 || !strings.Contains(reminders[0], "128ポイントの有効期限が、2026年3月1日までとなっています") {
		t.Errorf("%d reminder emails; want one saying 128 points can be used until 1 March", len(reminders))
	}
	if ms := pointsMessages(t, r, "C2"); len(ms) != 1 || ms[0].Status == "sent" {
		t.Errorf("C2 (no consent): %+v; want the reminder decided once and not sent", ms)
	}
	if c, _ := r.Store.Customer(ctx, "C1"); c.Points.RemindedFor != "2026-03-01" || c.Points.RemindOn != "" || c.NextDue > "2026-03-02" {
		t.Errorf("C1 after the reminder: points %+v, next due %s; want reminded, and visited again on the expiry", c.Points, c.NextDue)
	}
}

// A broken points.yaml stops the content from loading, naming the file.
func TestBrokenPointsYAMLIsRefused(t *testing.T) {
	src, _ := templates.FS.ReadFile("points.yaml")
	bad := strings.Replace(string(src), "rounding: floor", "rounding: sometimes", 1)
	_, err := points.ParseConfig("templates/points.yaml", []byte(bad), points.Known{})
	if err == nil || !strings.Contains(err.Error(), "templates/points.yaml: earn.rounding") {
		t.Errorf("error = %v", err)
	}
}
