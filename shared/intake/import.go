package intake

import (
	"context"
	"errors"
	"fmt"

	"github.com/daifuku/daifuku/shared/customer"
	"github.com/daifuku/daifuku/shared/rank"
)

// ImportCustomer adds a customer from a shop's spreadsheet, or updates the
// profile of one already in the ledger. Purchases, rank and history stay as
// the ledger has them, and an import never re-grants consent the ledger says
// was withdrawn: a stale spreadsheet must not undo an opt-out.
func (in *Intake) ImportCustomer(ctx context.Context, c *customer.Customer) (created bool, err error) {
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		cur, err := in.Ledger.Customer(ctx, c.ID)
		switch {
		case errors.Is(err, customer.ErrNotFound):
			next := *c
			next.Version = 0
			now := in.now()
			next.Rank = rank.Evaluate(in.Rules, &next, now).String()
			next.RankSince = now
			next.RankHistory = []customer.RankChange{{To: next.Rank, At: now, Cause: "import"}}
			in.schedule(&next, now)
			err = in.Ledger.SaveCustomer(ctx, &next)
			created = true
		case err != nil:
			return false, err
		default:
			mergeProfile(cur, c)
			in.schedule(cur, in.now())
			err = in.Ledger.SaveCustomer(ctx, cur)
			created = false
		}
		if errors.Is(err, customer.ErrConflict) {
			continue
		}
		return created, err
	}
	return false, fmt.Errorf("import customer %s: %w", c.ID, customer.ErrConflict)
}

func mergeProfile(cur, in *customer.Customer) {
	if in.Name != "" {
		cur.Name = in.Name
	}
	if in.Email != "" && in.Email != cur.Email {
		// A new address starts clean, with the consent given for it.
		cur.Email, cur.Consent.EmailStatus, cur.Consent.Email = in.Email, customer.Reachable, in.Consent.Email
	} else {
		cur.Consent.Email = cur.Consent.Email && in.Consent.Email
	}
	if in.LINEUserID != "" && in.LINEUserID != cur.LINEUserID {
		cur.LINEUserID, cur.Consent.LINEStatus, cur.Consent.LINE = in.LINEUserID, customer.Reachable, in.Consent.LINE
	} else {
		cur.Consent.LINE = cur.Consent.LINE && in.Consent.LINE
	}
	if in.PreferredChannel != "" {
		cur.PreferredChannel = in.PreferredChannel
	}
	if in.Birthday != "" {
		cur.Birthday, cur.BirthdayMD = in.Birthday, in.BirthdayMD
	}
	if in.Gender != "" {
		cur.Gender = in.Gender
	}
	if in.Timezone != "" {
		cur.Timezone = in.Timezone
	}
	if len(in.Tags) > 0 {
		cur.Tags = in.Tags
	}
}
