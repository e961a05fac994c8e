package points

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/plan"
	"github.com/daifuku/daifuku/shared/domain/rank"
)

// Reason says why a card's balance moved.
type Reason string

// The reasons of entries.
const (
	Earn     Reason = "earn"     // an order earned points
	Redeem   Reason = "redeem"   // an order paid with points
	Expire   Reason = "expire"   // points passed their last valid day
	Adjust   Reason = "adjust"   // staff corrected the balance, with a note saying why
	Referral Reason = "referral" // a credit for introducing someone (口コミ)
)

// Valid reports whether r is a known reason.
func (r Reason) Valid() bool {
	switch r {
	case Earn, Redeem, Expire, Adjust, Referral:
		return true
	}
	return false
}

// Entry is one movement of a customer's points: the card's history. Its id
// is deterministic for what caused it ("earn:O-1", "redeem:O-1",
// "expire:2027-02-01"), so it is written once however often it is retried.
type Entry struct {
	CustomerID string    `dynamodbav:"customer_id" json:"customer_id"`
	ID         string    `dynamodbav:"entry_id" json:"id"`
	At         time.Time `dynamodbav:"at" json:"at"`
	Reason     Reason    `dynamodbav:"reason" json:"reason"`
	Points     int64     `dynamodbav:"points" json:"points"` // + earned or credited, - spent or expired
	OrderID    string    `dynamodbav:"order_id,omitempty" json:"order_id,omitempty"`
	Note       string    `dynamodbav:"note,omitempty" json:"note,omitempty"` // staff's reason, a referral…
	Balance    int64     `dynamodbav:"balance" json:"balance"`               // after the entry
	// Until is the last valid day of the lot an entry added (earn, credit), or
	// of the lot that expired.
	Until string `dynamodbav:"until,omitempty" json:"until,omitempty"`
	// Seq orders a customer's entries as they were written (the store sets it).
	Seq int64 `dynamodbav:"seq" json:"-"`
}

// EntryID builds an entry's id from its reason and what caused it.
func EntryID(r Reason, occasion string) string { return string(r) + ":" + occasion }

// ErrInsufficient means the points asked for are more than the customer has.
var ErrInsufficient = errors.New("not enough points")

// MaxPoints bounds one movement: far beyond any real card.
const MaxPoints = 1_000_000_000

// Until is the last customer-local date points earned at t can be used:
// the same date ExpiryMonths later (the month's last day when it is
// shorter), or ExpiryDays later, in loc.
func (c *Config) Until(t time.Time, loc *time.Location) plan.Day {
	d := plan.DayOf(t, loc)
	if c.ExpiryDays > 0 {
		return d.AddDays(c.ExpiryDays)
	}
	return AddMonths(d, c.ExpiryMonths)
}

// AddMonths moves a date by whole months, keeping the day of the month
// where it exists and taking the month's last day where it does not
// (31 January + 1 month = 28 or 29 February, not 3 March).
func AddMonths(d plan.Day, n int) plan.Day {
	first := time.Date(d.Y, time.Month(d.M)+time.Month(n), 1, 12, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return plan.Day{Y: first.Year(), M: int(first.Month()), D: min(d.D, last)}
}

// Add puts n points on the card, usable until the given date. Lots that
// end on the same day are one lot.
func Add(p *customer.Points, n int64, until plan.Day) {
	u := until.String()
	i := sort.Search(len(p.Lots), func(i int) bool { return p.Lots[i].Until >= u })
	if i < len(p.Lots) && p.Lots[i].Until == u {
		p.Lots[i].Points += n
	} else {
		p.Lots = append(p.Lots[:i], append([]customer.PointsLot{{Until: u, Points: n}}, p.Lots[i:]...)...)
	}
	p.Balance += n
}

// Take spends n points, oldest lots first. It changes nothing and returns
// ErrInsufficient when the card holds fewer.
func Take(p *customer.Points, n int64) error {
	if n > p.Balance {
		return fmt.Errorf("%w: %d asked, %d on the card", ErrInsufficient, n, p.Balance)
	}
	p.Balance -= n
	for n > 0 && len(p.Lots) > 0 {
		take := min(n, p.Lots[0].Points)
		p.Lots[0].Points -= take
		n -= take
		if p.Lots[0].Points == 0 {
			p.Lots = p.Lots[1:]
		}
	}
	p.Lots = append([]customer.PointsLot(nil), p.Lots...) // do not share the dropped lots' array with a copy read before
	return nil
}

// Expired removes the lots whose last valid day is before today (the
// customer's date) and returns them, oldest first.
func Expired(p *customer.Points, today plan.Day) []customer.PointsLot {
	t := today.String()
	n := 0
	for n < len(p.Lots) && n < MaxExpiredAtOnce && p.Lots[n].Until < t {
		p.Balance -= p.Lots[n].Points
		n++
	}
	gone := append([]customer.PointsLot(nil), p.Lots[:n]...)
	p.Lots = append([]customer.PointsLot(nil), p.Lots[n:]...)
	return gone
}

// MaxExpiredAtOnce bounds the lots one write expires, so it fits in a
// DynamoDB transaction beside what it is written with (an order, say). A
// customer with more (years of imported orders) has the rest expired on the
// next visits: the oldest lot's date stays in the past, so they come due.
const MaxExpiredAtOnce = 60

// Settle sets the dates the daily run visits the card on: the oldest lot's
// expiry and, unless it was reminded about, its reminder.
func (c *Config) Settle(p *customer.Points) {
	p.ExpireOn, p.RemindOn = "", ""
	if len(p.Lots) == 0 {
		return
	}
	until, err := plan.ParseDay(p.Lots[0].Until)
	if err != nil {
		return
	}
	p.ExpireOn = until.AddDays(1).String()
	if c.RemindDaysBefore > 0 && p.RemindedFor != p.Lots[0].Until {
		p.RemindOn = until.AddDays(-c.RemindDaysBefore).String()
	}
}

// NextExpiry is the oldest lot: the points that expire next and their last valid day.
func NextExpiry(p customer.Points) (customer.PointsLot, bool) {
	if len(p.Lots) == 0 {
		return customer.PointsLot{}, false
	}
	return p.Lots[0], true
}

// Order applies an order to the customer's card: the points it used are
// spent first, then what was paid (total - points used) earns points at the
// customer's rank before the order (the rank the checkout showed). It
// returns the entries, redemption first; an order using more points than the
// card holds changes nothing and is an error that Is domain.ErrInvalid and
// ErrInsufficient. With no config (no points card), an order may use no
// points and earns none.
func (c *Config) Order(cust *customer.Customer, rankAtPurchase rank.Rank, o customer.Order) (earned int64, entries []Entry, err error) {
	if c != nil {
		// Points past their last valid day on the order's date (in the
		// customer's zone) are gone before anything is spent, even when the
		// daily run has not come by yet.
		entries = c.ExpireOn(cust, plan.DayOf(o.OrderedAt, cust.Location()), o.OrderedAt)
	}
	if o.PointsUsed > 0 {
		if c == nil {
			return 0, nil, domain.Invalidf("order %s: points_used %d, but the shop has no points card (templates/points.yaml)", o.ID, o.PointsUsed)
		}
		p := cust.Points
		if err := Take(&p, o.PointsUsed); err != nil {
			return 0, nil, newInsufficient("order %s: points_used %d is more than the customer's balance of %d points", o.ID, o.PointsUsed, cust.Points.Balance)
		}
		cust.Points = p
		entries = append(entries, Entry{CustomerID: cust.ID, ID: EntryID(Redeem, o.ID), At: o.OrderedAt, Reason: Redeem,
			Points: -o.PointsUsed, OrderID: o.ID, Balance: p.Balance})
	}
	if c == nil {
		return 0, entries, nil
	}
	if earned = c.Earned(rankAtPurchase, o.Total-o.PointsUsed); earned > 0 {
		until := c.Until(o.OrderedAt, cust.Location())
		Add(&cust.Points, earned, until)
		entries = append(entries, Entry{CustomerID: cust.ID, ID: EntryID(Earn, o.ID), At: o.OrderedAt, Reason: Earn,
			Points: earned, OrderID: o.ID, Balance: cust.Points.Balance, Until: until.String()})
	}
	c.Settle(&cust.Points)
	return earned, entries, nil
}

// insufficient is both an invalid input (for whoever sent the order: the
// API answers 400 with its message) and ErrInsufficient.
type insufficient struct{ *domain.InvalidError }

func newInsufficient(format string, args ...any) error {
	return insufficient{&domain.InvalidError{Msg: fmt.Sprintf(format, args...)}}
}

func (e insufficient) Unwrap() error { return e.InvalidError }

func (e insufficient) Is(target error) bool { return target == ErrInsufficient }

// Move changes a card by n points (a staff adjustment, a referral credit),
// at now: a credit is a lot usable until the usual expiry after now, a
// debit spends the oldest lots first and may not take the balance below
// zero. It returns the entry (its Points signed).
func (c *Config) Move(cust *customer.Customer, id string, r Reason, n int64, note string, now time.Time) (Entry, error) {
	e := Entry{CustomerID: cust.ID, ID: id, At: now, Reason: r, Points: n, Note: note}
	switch {
	case n == 0:
		return Entry{}, domain.Invalidf("points: 0 changes nothing")
	case n > MaxPoints || n < -MaxPoints:
		return Entry{}, domain.Invalidf("points: at most %d at once", MaxPoints)
	case n > 0:
		until := c.Until(now, cust.Location())
		Add(&cust.Points, n, until)
		e.Until = until.String()
	default:
		p := cust.Points
		if err := Take(&p, -n); err != nil {
			return Entry{}, newInsufficient("points: taking %d would leave customer %s below zero (balance %d)", -n, cust.ID, cust.Points.Balance)
		}
		cust.Points = p
	}
	e.Balance = cust.Points.Balance
	c.Settle(&cust.Points)
	return e, nil
}

// ExpireOn expires the customer's lots past their last valid day as of
// their local date today, and returns one entry per lot, keyed by its last
// valid day and the customer's version: the entries are written with the
// customer at that version, so a repeated run finds nothing left to expire,
// and a lot of the same day earned later (an imported old order) gets its own.
func (c *Config) ExpireOn(cust *customer.Customer, today plan.Day, now time.Time) []Entry {
	var out []Entry
	for _, lot := range Expired(&cust.Points, today) {
		out = append(out, Entry{CustomerID: cust.ID, ID: EntryID(Expire, fmt.Sprintf("%s:v%d", lot.Until, cust.Version)), At: now, Reason: Expire, Points: -lot.Points, Until: lot.Until})
	}
	bal := cust.Points.Balance
	for i := len(out) - 1; i >= 0; i-- { // balance after each, oldest first
		out[i].Balance = bal
		bal -= out[i].Points
	}
	c.Settle(&cust.Points)
	return out
}
