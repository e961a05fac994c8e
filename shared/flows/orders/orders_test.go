package orders_test

import (
	"context"
	"errors"
	"math"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/daifuku/daifuku/infra/dynamolocal"
	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/flows/orders"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.RunTests(m)) }

func order(id, cust string, total int64, at time.Time) customer.Order {
	return customer.Order{ID: id, CustomerID: cust, Total: total, OrderedAt: at,
		Items:   []customer.Item{{Name: "益子焼 マグカップ", Quantity: 1, Price: total}},
		Contact: customer.Contact{Name: "佐藤 花子", Email: "hanako@example.jp"}}
}

func TestOrderForUnknownCustomerCreatesThem(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	res, err := r.Intake.RecordOrder(ctx, order("O1", "C1", 3800, r.Clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if !res.NewCustomer || res.Rank != "new" || !res.RankChanged || res.ThankYou == "" {
		t.Errorf("result = %+v, want a new customer ranked new with a thank-you queued", res)
	}
	c, err := r.Store.Customer(ctx, "C1")
	if err != nil {
		t.Fatal(err)
	}
	if c.Email != "hanako@example.jp" || !c.Consent.Email || c.Purchases.Count != 1 || c.Purchases.TotalSpend != 3800 {
		t.Errorf("customer = %+v", c)
	}
	if len(c.RankHistory) != 1 || c.RankHistory[0].To != "new" || !c.RankHistory[0].At.Equal(r.Clock.Now()) {
		t.Errorf("rank history = %+v, want one change to new, dated now", c.RankHistory)
	}
	rec, err := r.Store.Message(ctx, message.Key(res.ThankYou))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != message.Queued || rec.Rank != "new" || rec.OrderID != "O1" {
		t.Errorf("thank-you record = %+v", rec)
	}
	if r.Queue.Len() != 1 {
		t.Errorf("queued jobs = %d, want 1", r.Queue.Len())
	}
}

func TestSameOrderTwiceCountsOnce(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	o := order("O1", "C1", 5000, r.Clock.Now())
	if _, err := r.Intake.RecordOrder(ctx, o); err != nil {
		t.Fatal(err)
	}
	if failed := r.SendQueued(t); failed != 0 {
		t.Fatalf("%d sends failed", failed)
	}
	before, _ := r.Store.Customer(ctx, "C1")

	res, err := r.Intake.RecordOrder(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Duplicate || res.ThankYou != "" {
		t.Errorf("second delivery: %+v, want a duplicate with nothing queued", res)
	}
	after, _ := r.Store.Customer(ctx, "C1")
	if after.Purchases != before.Purchases || after.Version != before.Version {
		t.Errorf("customer changed on a duplicate: %+v → %+v", before.Purchases, after.Purchases)
	}
	if r.Queue.Len() != 0 {
		t.Errorf("a duplicate queued %d jobs", r.Queue.Len())
	}
}

// A redelivered order whose thank-you's job may have been lost (stale)
// queues it again, once; duplicate posts while the job is fresh queue
// nothing at all.
func TestDuplicateRequeuesOnlyAStaleThankYou(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	o := order("O1", "C1", 5000, r.Clock.Now())
	if _, err := r.Intake.RecordOrder(ctx, o); err != nil {
		t.Fatal(err)
	}
	r.Queue.Drain(10) // the first delivery "died" before its job reached the sender
	for range 20 {
		res, err := r.Intake.RecordOrder(ctx, o)
		if err != nil || !res.Duplicate || res.ThankYou != "" {
			t.Fatalf("duplicate post within %s: %+v %v; want nothing queued", orders.StaleAfter, res, err)
		}
	}
	if r.Queue.Len() != 0 {
		t.Fatalf("%d jobs queued by duplicate posts of a fresh thank-you", r.Queue.Len())
	}
	r.Clock.Advance(orders.StaleAfter)
	for i := range 20 {
		res, err := r.Intake.RecordOrder(ctx, o)
		if err != nil || !res.Duplicate || (i == 0) != (res.ThankYou != "") {
			t.Fatalf("post %d after the job went stale: %+v %v; want the first to queue it again, the rest nothing", i, res, err)
		}
	}
	if r.Queue.Len() != 1 {
		t.Errorf("%d jobs queued, want the stale thank-you once", r.Queue.Len())
	}
}

func TestRankClimbsAndChangeIsRecorded(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	start := r.Clock.Now()
	want := []string{"new", "early", "repeater", "repeater", "semi-royal"}
	for i, w := range want {
		res, err := r.Intake.RecordOrder(ctx, order("O"+string(rune('1'+i)), "C1", 12000, start))
		if err != nil {
			t.Fatal(err)
		}
		if res.Rank != w {
			t.Errorf("after order %d: rank %q, want %q", i+1, res.Rank, w)
		}
		r.Clock.Advance(24 * time.Hour)
	}
	c, _ := r.Store.Customer(ctx, "C1")
	var path []string
	for _, h := range c.RankHistory {
		path = append(path, h.From+"→"+h.To)
	}
	wantPath := []string{"→new", "new→early", "early→repeater", "repeater→semi-royal"}
	if len(path) != len(wantPath) {
		t.Fatalf("history %v, want %v", path, wantPath)
	}
	for i := range path {
		if path[i] != wantPath[i] {
			t.Errorf("history %v, want %v", path, wantPath)
		}
	}
	if last := c.RankHistory[len(c.RankHistory)-1]; !last.At.Equal(start.Add(4*24*time.Hour)) || last.Cause != "order O5" {
		t.Errorf("last change %+v, want dated the fifth order's day, caused by O5", last)
	}
}

func TestConcurrentOrdersAllCount(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := r.Intake.RecordOrder(ctx, order("P"+string(rune('a'+i)), "C1", 1000, r.Clock.Now()))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	c, _ := r.Store.Customer(ctx, "C1")
	if c.Purchases.Count != 8 || c.Purchases.TotalSpend != 8000 {
		t.Errorf("purchases = %+v, want 8 orders, 8,000 yen (optimistic locking lost an update)", c.Purchases)
	}
}

func TestOldOrderIsRecordedButNotThanked(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	res, err := r.Intake.RecordOrder(context.Background(), order("O1", "C1", 5000, r.Clock.Now().AddDate(-1, 0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	if res.ThankYou != "" || r.Queue.Len() != 0 {
		t.Errorf("a year-old order queued a thank-you: %+v", res)
	}
}

func TestInvalidOrderChangesNothing(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	now := r.Clock.Now()
	item := func(q int, p int64) []customer.Item { return []customer.Item{{Name: "マグ", Quantity: q, Price: p}} }
	tests := []struct {
		name string
		o    customer.Order
	}{
		{"no order id", customer.Order{CustomerID: "C1", Total: 1, OrderedAt: now}},
		{"no customer id", customer.Order{ID: "O1", Total: 1, OrderedAt: now}},
		{"negative total", customer.Order{ID: "O1", CustomerID: "C1", Total: -5, OrderedAt: now}},
		{"no date", customer.Order{ID: "O1", CustomerID: "C1", Total: 5}},
		{"a total near MaxInt64", customer.Order{ID: "O1", CustomerID: "C1", Total: math.MaxInt64 - 1, OrderedAt: now}},
		{"year 1", customer.Order{ID: "O1", CustomerID: "C1", Total: 5, OrderedAt: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"year 9999", customer.Order{ID: "O1", CustomerID: "C1", Total: 5, OrderedAt: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"items that do not add up", customer.Order{ID: "O1", CustomerID: "C1", Total: 5000, OrderedAt: now, Items: item(2, 3800)}},
		{"a quantity that would overflow", customer.Order{ID: "O1", CustomerID: "C1", Total: 5, OrderedAt: now, Items: item(math.MaxInt32, math.MaxInt64/2)}},
		{"a | in the order id", customer.Order{ID: "x|C2|order:O9", CustomerID: "C1", Total: 5, OrderedAt: now}},
		{"a | in the customer id", customer.Order{ID: "O1", CustomerID: "C1|order:O1", Total: 5, OrderedAt: now}},
		{"a control character in an id", customer.Order{ID: "O1\r\n", CustomerID: "C1", Total: 5, OrderedAt: now}},
		{"an order from the future", customer.Order{ID: "O1", CustomerID: "C1", Total: 5, OrderedAt: now.Add(48 * time.Hour)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.Intake.RecordOrder(ctx, tt.o)
			if !errors.Is(err, domain.ErrInvalid) {
				t.Errorf("err = %v, want one that Is domain.ErrInvalid", err)
			}
		})
	}
	if _, err := r.Store.Customer(ctx, "C1"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("an invalid order created a customer: %v", err)
	}
}

// Two orders of the largest total allowed keep the customer's spend positive,
// and the rank follows it up, never down.
func TestLargestOrdersAddUp(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	for _, id := range []string{"O1", "O2"} {
		o := customer.Order{ID: id, CustomerID: "C1", Total: customer.MaxOrderTotal, OrderedAt: r.Clock.Now()}
		if _, err := r.Intake.RecordOrder(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	c, err := r.Store.Customer(ctx, "C1")
	if err != nil {
		t.Fatal(err)
	}
	if c.Purchases.TotalSpend != 2*customer.MaxOrderTotal {
		t.Errorf("total spend %d, want %d", c.Purchases.TotalSpend, int64(2*customer.MaxOrderTotal))
	}
}

// An order is linked to the messages its customer received before it (the
// last touch, and every touch within its window) and to a held-out
// decision; an order with none before it is organic.
func TestAnOrderIsAttributedToTheMessagesBeforeIt(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	now := r.Clock.Now()
	if err := r.Store.PutCustomers(ctx, []*customer.Customer{{ID: "C1", Email: "c1@example.jp", Rank: "new",
		Consent: customer.Consent{Email: true}, Purchases: customer.Purchases{Count: 1, TotalSpend: 3000, First: now.AddDate(0, -2, 0), Last: now.AddDate(0, -2, 0)}}}); err != nil {
		t.Fatal(err)
	}
	for _, rec := range []message.Record{
		{Key: "step-5d", Kind: message.Step, CustomerID: "C1", Rank: "new", Plan: "new", PlanVersion: 2, Step: "care", Status: message.Opened,
			CreatedAt: now.AddDate(0, 0, -5), SentAt: now.AddDate(0, 0, -5)},
		{Key: "held-2d", Kind: message.Step, CustomerID: "C1", Rank: "new", Plan: "new", PlanVersion: 2, Step: "next", Status: message.HeldOut,
			CreatedAt: now.AddDate(0, 0, -2)},
		{Key: "news-45d", Kind: message.Newsletter, CustomerID: "C1", Rank: "new", Status: message.Sent,
			CreatedAt: now.AddDate(0, 0, -45), SentAt: now.AddDate(0, 0, -45)},
	} {
		if _, err := r.Store.CreateMessage(ctx, rec, delivery.CapChange{}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := r.Intake.RecordOrder(ctx, customer.Order{ID: "O-A1", CustomerID: "C1", Total: 5000, OrderedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	if res.LastTouch != "step-5d" {
		t.Errorf("last touch %q, want step-5d", res.LastTouch)
	}
	a, err := r.Store.AttributionOf(ctx, "O-A1")
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Touches) != 2 || a.Touches[0].Key != "step-5d" || a.Touches[0].PlanVersion != 2 || !a.Touches[1].HeldOut || a.Organic {
		t.Errorf("attribution %+v; want the step (plan v2) and the held-out decision, not the 45-day-old newsletter", a)
	}
	res, err = r.Intake.RecordOrder(ctx, customer.Order{ID: "O-A2", CustomerID: "NEW", Total: 5000, OrderedAt: now,
		Contact: customer.Contact{Email: "new@example.jp"}})
	if err != nil {
		t.Fatal(err)
	}
	if a, err := r.Store.AttributionOf(ctx, "O-A2"); err != nil || !a.Organic || res.LastTouch != "" {
		t.Errorf("a first order with no message before it: %+v %v", a, err)
	}
}
