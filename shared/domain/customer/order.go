package customer

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/daifuku/daifuku/shared/domain"
)

// Order is one purchase, as the shop reports it.
type Order struct {
	ID         string    `json:"order_id" dynamodbav:"order_id"`
	CustomerID string    `json:"customer_id" dynamodbav:"customer_id"`
	Total      int64     `json:"total" dynamodbav:"total"` // yen, tax included
	Items      []Item    `json:"items,omitempty" dynamodbav:"items,omitempty"`
	OrderedAt  time.Time `json:"ordered_at" dynamodbav:"ordered_at"`
	// ReferralCode is the code of the customer who introduced the buyer, if
	// the order carries one (the ?ref= of their link, or typed at checkout).
	ReferralCode string `json:"referral_code,omitempty" dynamodbav:"referral_code,omitempty"`
	// PointsUsed is the points the customer paid with (1 point = 1 yen),
	// part of Total; PointsEarned is what the rest earned, set by daifuku.
	PointsUsed   int64 `json:"points_used,omitempty" dynamodbav:"points_used,omitempty"`
	PointsEarned int64 `json:"-" dynamodbav:"points_earned,omitempty"`
	// Contact details let an order for an unknown customer create them.
	Contact Contact `json:"customer,omitzero" dynamodbav:"-"`
}

// Item is one line of an order.
type Item struct {
	SKU      string `json:"sku,omitempty" dynamodbav:"sku,omitempty"`
	Name     string `json:"name" dynamodbav:"name"`
	Quantity int    `json:"quantity" dynamodbav:"quantity"`
	Price    int64  `json:"price" dynamodbav:"price"` // yen per unit
}

// Contact is what an order may tell us about its buyer.
type Contact struct {
	Name             string  `json:"name,omitempty"`
	Email            string  `json:"email,omitempty"`
	LINEUserID       string  `json:"line_user_id,omitempty"`
	PreferredChannel Channel `json:"preferred_channel,omitempty"`
	EmailConsent     *bool   `json:"email_consent,omitempty"`
	LINEConsent      *bool   `json:"line_consent,omitempty"`
	Birthday         string  `json:"birthday,omitempty"`
	Timezone         string  `json:"timezone,omitempty"`
}

// Bounds of an order: far beyond any real purchase, well inside what int64
// aggregates can add up (a customer's total spend must never wrap negative).
const (
	MaxOrderTotal = 10_000_000_000 // yen: ten billion
	MaxQuantity   = 1_000_000
	MaxItems      = 1_000
)

// Orders are dated within these years: a year 1 or 9999 is a typo or an attack,
// and either would skew ranks for ever.
var (
	EarliestOrder = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	LatestOrder   = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Validate reports what makes an order unusable, as an error that Is
// domain.ErrInvalid. Where item lines carry prices, they must add up to the total.
func (o Order) Validate() error {
	if err := ValidID("order_id", o.ID); err != nil {
		return err
	}
	if err := ValidID("customer_id", o.CustomerID); err != nil {
		return domain.Invalidf("order %s: %v", o.ID, err)
	}
	switch {
	case o.Total < 0 || o.Total > MaxOrderTotal:
		return domain.Invalidf("order %s: total must be 0 to %d yen", o.ID, int64(MaxOrderTotal))
	case o.OrderedAt.IsZero():
		return domain.Invalidf("order %s: ordered_at is required (RFC 3339)", o.ID)
	case o.OrderedAt.Before(EarliestOrder) || !o.OrderedAt.Before(LatestOrder):
		return domain.Invalidf("order %s: ordered_at must be between %d and %d", o.ID, EarliestOrder.Year(), LatestOrder.Year()-1)
	case o.PointsUsed < 0 || o.PointsUsed > o.Total:
		return domain.Invalidf("order %s: points_used must be 0 to the order's total (%d)", o.ID, o.Total)
	case len(o.Items) > MaxItems:
		return domain.Invalidf("order %s: at most %d item lines", o.ID, MaxItems)
	case len(o.ReferralCode) > MaxReferralCodeLength:
		return domain.Invalidf("order %s: referral_code: at most %d bytes", o.ID, MaxReferralCodeLength)
	}
	var sum int64
	priced := false
	for i, it := range o.Items {
		if it.Quantity < 0 || it.Quantity > MaxQuantity || it.Price < 0 || it.Price > MaxOrderTotal {
			return domain.Invalidf("order %s: item %d: quantity must be 0 to %d and price 0 to %d yen", o.ID, i+1, MaxQuantity, int64(MaxOrderTotal))
		}
		sum += int64(it.Quantity) * it.Price // bounded above: no overflow
		if sum > MaxOrderTotal {
			return domain.Invalidf("order %s: the item lines add up to more than %d yen", o.ID, int64(MaxOrderTotal))
		}
		priced = priced || it.Price > 0
	}
	if priced && sum != o.Total {
		return domain.Invalidf("order %s: total %d does not match the item lines (%d); send shipping and discounts as lines, or leave prices out", o.ID, o.Total, sum)
	}
	return nil
}

// MaxReferralCodeLength bounds the referral code an order carries: codes
// are 6 characters; what was typed around one is forgiven, but not a page.
const MaxReferralCodeLength = 64

// MaxIDLength bounds every id that comes from outside.
const MaxIDLength = 128

// ValidID checks an id that comes from outside (a shop's order or customer
// id): present, at most MaxIDLength bytes of UTF-8, and free of control
// characters and of "|", which joins the parts of message keys: ids chosen to
// collide would turn a new order into a silent duplicate.
func ValidID(field, id string) error {
	switch {
	case id == "":
		return domain.Invalidf("%s is required", field)
	case len(id) > MaxIDLength:
		return domain.Invalidf("%s: at most %d bytes", field, MaxIDLength)
	case !utf8.ValidString(id):
		return domain.Invalidf("%s is not valid UTF-8", field)
	case strings.ContainsRune(id, '|'):
		return domain.Invalidf("%s must not contain \"|\"", field)
	}
	for _, r := range id {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return domain.Invalidf("%s must not contain control characters", field)
		}
	}
	return nil
}
