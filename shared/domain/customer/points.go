package customer

// Points is the customer's points card (ポイントカード) as the ledger keeps it
// on the customer: the balance and the lots it is made of, so that an order,
// a redemption and the daily run change it in the same versioned write as
// the rest of the customer. The points package holds the rules; the entries
// (the card's history) are items of their own.
type Points struct {
	Balance int64 `dynamodbav:"balance,omitempty" json:"balance"`
	// Lots are the points not yet spent or expired, by the last day they
	// can be used, oldest first: redemption and expiry take the oldest first.
	Lots []PointsLot `dynamodbav:"lots,omitempty" json:"lots,omitempty"`
	// ExpireOn is the customer-local date (YYYY-MM-DD) the oldest lot
	// expires (the day after its last valid day); RemindOn the date its
	// reminder is due, "" once it was decided (or when there is none). The
	// daily run visits the customer on both (see Due).
	ExpireOn string `dynamodbav:"expire_on,omitempty" json:"expire_on,omitempty"`
	RemindOn string `dynamodbav:"remind_on,omitempty" json:"remind_on,omitempty"`
	// RemindedFor is the last valid day of the lot last reminded about:
	// one reminder per expiry.
	RemindedFor string `dynamodbav:"reminded_for,omitempty" json:"reminded_for,omitempty"`
}

// PointsLot is points that expire together.
type PointsLot struct {
	Until  string `dynamodbav:"until" json:"until"` // the last customer-local date they can be used, YYYY-MM-DD
	Points int64  `dynamodbav:"points" json:"points"`
}

// Due is the first customer-local date, from today (YYYY-MM-DD) on, the daily
// run has something to do about the card: a reminder or an expiry; a date
// already passed is today (a missed run is made up for). "" when nothing.
func (p Points) Due(today string) string {
	due := ""
	for _, d := range []string{p.RemindOn, p.ExpireOn} {
		if d == "" {
			continue
		}
		if d < today {
			d = today
		}
		if due == "" || d < due {
			due = d
		}
	}
	return due
}
