package pointcard_test

import (
	"context"
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
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/points"
	"github.com/daifuku/daifuku/shared/flows/orders"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.RunTests(m)) }

var ctx = context.Background()

func order(id, cust string, total, used int64, at time.Time) customer.Order {
	return customer.Order{ID: id, CustomerID: cust, Total: total, PointsUsed: used, OrderedAt: at,
		Items:   []customer.Item{{Name: "益子焼 マグカップ", Quantity: 1, Price: total}},
		Contact: customer.Contact{Name: "佐藤 花子", Email: "hanako@example.jp"}}
}

func record(t *testing.T, r *testrig.Rig, o customer.Order) orders.Result {
	t.Helper()
	res, err := r.Intake.RecordOrder(ctx, o)
	if err != nil {
		t.Fatalf("order %s: %v", o.ID, err)
	}
	return res
}

func card(t *testing.T, r *testrig.Rig, id string) (customer.Points, []points.Entry) {
	t.Helper()
	c, err := r.Store.Customer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	es, err := r.Store.PointsOf(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return c.Points, es
}

// A customer's first order (rank "" before it) earns 1 point per 100 yen
// (points.yaml); its redelivery earns nothing more.
func TestOrderEarnsOnceWhenRedelivered(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	o := order("O1", "C1", 12800, 0, r.Clock.Now())
	res := record(t, r, o)
	if res.PointsEarned != 128 || res.PointsBalance != 128 {
		t.Fatalf("result = %+v, want 128 points earned", res)
	}
	for range 3 {
		if res := record(t, r, o); !res.Duplicate {
			t.Fatalf("redelivery: %+v, want a duplicate", res)
		}
	}
	p, es := card(t, r, "C1")
	if p.Balance != 128 || len(es) != 1 || es[0].ID != "earn:O1" || es[0].Points != 128 || es[0].Until != "2027-11-23" {
		t.Errorf("card %+v, entries %+v; want one earn of 128 usable until 2027-11-23 (Tokyo)", p, es)
	}
	stored, err := r.Store.Order(ctx, "O1")
	if err != nil || stored.PointsEarned != 128 {
		t.Errorf("order on record: %+v %v, want it to say it earned 128", stored, err)
	}
}

// Using more points than the card holds is refused, and nothing of the
// order is recorded: no order, no points moved, no thank-you.
func TestRedeemingMoreThanTheBalanceRecordsNothing(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	record(t, r, order("O1", "C1", 10000, 0, r.Clock.Now())) // 100 points
	r.Queue.Drain(10)
	before, _ := r.Store.Customer(ctx, "C1")

	_, err := r.Intake.RecordOrder(ctx, order("O2", "C1", 5000, 101, r.Clock.Now()))
	var invalid *domain.InvalidError
	if !errors.As(err, &invalid) || !errors.Is(err, points.ErrInsufficient) || !strings.Contains(err.Error(), "points_used 101") {
		t.Fatalf("error = %v, want an InvalidError naming points_used", err)
	}
	if _, err := r.Store.Order(ctx, "O2"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("order O2 on record after a refusal: %v", err)
	}
	after, es := card(t, r, "C1")
	c, _ := r.Store.Customer(ctx, "C1")
	if after.Balance != 100 || len(es) != 1 || c.Version != before.Version || c.Purchases.Count != 1 {
		t.Errorf("card %+v, %d entries, version %d→%d; want nothing changed", after, len(es), before.Version, c.Version)
	}
	if _, err := r.Store.Message(ctx, orders.ThankYouKey(order("O2", "C1", 0, 0, time.Time{}))); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("a thank-you recorded for the refused order: %v", err)
	}
	if r.Queue.Len() != 0 {
		t.Errorf("%d jobs queued by a refused order", r.Queue.Len())
	}
	// A customer the ledger does not know has no points at all.
	if _, err := r.Intake.RecordOrder(ctx, order("O3", "C-new", 5000, 1, r.Clock.Now())); !errors.Is(err, points.ErrInsufficient) {
		t.Errorf("a new customer using points: %v, want refused", err)
	}
}

// Spending exactly the balance works; its retry (same order id) changes
// nothing, rather than being refused for the balance it spent itself.
func TestRedemptionIsRecordedOnceWithItsOrder(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	record(t, r, order("O1", "C1", 10000, 0, r.Clock.Now()))
	o := order("O2", "C1", 5000, 100, r.Clock.Now())
	res := record(t, r, o)
	if res.PointsBalance != 49 || res.PointsEarned != 49 {
		t.Errorf("result %+v, want 100 spent and 49 earned on the 4,900 yen paid", res)
	}
	if res := record(t, r, o); !res.Duplicate {
		t.Errorf("retry: %+v, want a duplicate", res)
	}
	p, es := card(t, r, "C1")
	var reasons []string
	for _, e := range es {
		reasons = append(reasons, string(e.Reason))
	}
	if p.Balance != 49 || strings.Join(reasons, ",") != "earn,redeem,earn" {
		t.Errorf("card %+v, entries %v; want earn, redeem, earn and 49 left", p, reasons)
	}
}

// Two orders spending the same points at once: one is refused, and the
// card never goes below zero.
func TestConcurrentRedemptionsCannotOverdraw(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	record(t, r, order("O1", "C1", 10000, 0, r.Clock.Now())) // 100 points
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, id := range []string{"O2", "O3"} {
		wg.Go(func() { _, errs[i] = r.Intake.RecordOrder(ctx, order(id, "C1", 1000, 80, r.Clock.Now())) })
	}
	wg.Wait()
	refused := 0
	for _, err := range errs {
		switch {
		case errors.Is(err, points.ErrInsufficient):
			refused++
		case err != nil:
			t.Fatal(err)
		}
	}
	p, es := card(t, r, "C1")
	if refused != 1 || p.Balance != 100-80+9 || len(es) != 3 {
		t.Errorf("refused %d, card %+v, %d entries; want one refused, 29 left (20 + 9 earned)", refused, p, len(es))
	}
}

func TestStaffAdjustmentNeedsAReasonAndKeepsTheBalanceAboveZero(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	record(t, r, order("O1", "C1", 10000, 0, r.Clock.Now()))
	if _, err := r.Points.Adjust(ctx, "C1", 50, "  "); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("adjust without a reason: %v, want refused", err)
	}
	if _, err := r.Points.Adjust(ctx, "C1", -101, "double-counted order"); !errors.Is(err, points.ErrInsufficient) {
		t.Errorf("adjust below zero: %v, want refused", err)
	}
	e, err := r.Points.Adjust(ctx, "C1", -30, "破損品の返品 O1")
	if err != nil || e.Balance != 70 || e.Note != "破損品の返品 O1" {
		t.Fatalf("adjust -30: %+v %v", e, err)
	}
	p, es := card(t, r, "C1")
	if p.Balance != 70 || len(es) != 2 || es[1].Reason != points.Adjust || es[1].Note != "破損品の返品 O1" {
		t.Errorf("card %+v, entries %+v", p, es)
	}
}

// A credit from elsewhere (a referral) counts once per entry id.
func TestCreditIsIdempotentByEntryID(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	record(t, r, order("O1", "C1", 1000, 0, r.Clock.Now()))
	for i := range 3 {
		e, dup, err := r.Points.Credit(ctx, "C1", "C2", 500, points.Referral, "ご紹介: C2")
		if err != nil || dup != (i > 0) || e.Points != 500 || e.ID != "referral:C2" {
			t.Fatalf("credit %d: %+v dup=%v %v", i, e, dup, err)
		}
	}
	if p, es := card(t, r, "C1"); p.Balance != 510 || len(es) != 2 {
		t.Errorf("card %+v, %d entries; want the referral credited once", p, len(es))
	}
	if _, _, err := r.Points.Credit(ctx, "C1", "x", 5, points.Earn, ""); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("a credit posing as an order's earning: %v, want refused", err)
	}
}

// The thank-you, through the real sender to the capture server, says what
// the order earned and the balance after it.
func TestThankYouSaysWhatTheOrderEarned(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	record(t, r, order("O1", "C1", 10000, 0, r.Clock.Now()))
	record(t, r, order("O2", "C1", 12800, 100, r.Clock.Now()))
	if failed := r.SendQueued(t); failed != 0 {
		t.Fatalf("%d sends failed", failed)
	}
	mails := r.Capture.Requests("email")
	if len(mails) != 2 {
		t.Fatalf("%d emails sent, want two thank-yous", len(mails))
	}
	first, second := string(mails[0].Body), string(mails[1].Body)
	if strings.Contains(first, "O-2") || strings.Contains(first, "O2") {
		first, second = second, first // sent side by side: either may go first
	}
	for _, want := range []string{"今回のお買い物で127ポイントを獲得しました（現在127ポイント）", "うちポイントご利用：100ポイント"} {
		if !strings.Contains(second, want) {
			t.Errorf("second thank-you lacks %q", want)
		}
	}
	if !strings.Contains(first, "今回のお買い物で100ポイントを獲得しました（現在127ポイント）") {
		t.Errorf("first thank-you does not say it earned 100 points, with the balance as it stands when it is sent")
	}
}

func pointsMessages(t *testing.T, r *testrig.Rig, id string) []*message.Record {
	t.Helper()
	recs, err := r.Store.History(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var out []*message.Record
	for _, m := range recs {
		if m.Kind == message.Points {
			out = append(out, m)
		}
	}
	return out
}
