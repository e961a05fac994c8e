package orders

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/rank"
	"github.com/daifuku/daifuku/shared/flows/flow"
)

// ImportCustomer adds a customer from a shop's spreadsheet, or updates the
// profile of one already in the ledger. Purchases, rank and history stay as
// the ledger has them, and an import never re-grants consent the ledger says
// was withdrawn: a stale spreadsheet must not undo an opt-out.
func (in *Intake) ImportCustomer(ctx context.Context, c *customer.Customer) (created bool, err error) {
	if err := customer.ValidID("customer_id", c.ID); err != nil {
		return false, err
	}
	var oldTags, newTags []string
	err = flow.RetryConflicts(ctx, func() error {
		cur, err := in.Ledger.Customer(ctx, c.ID)
		now := in.Now()
		switch {
		case errors.Is(err, domain.ErrNotFound):
			next := *c
			next.Version = 0
			next.Rank = rank.Evaluate(in.Rules, &next, now).String()
			next.RankSince = now
			next.RankHistory = []customer.RankChange{{To: next.Rank, At: now, Cause: "import"}}
			next.PendingConsent = nil
			noteImportedConsent(&next, customer.Consent{}, true, now)
			in.schedule(&next, now)
			created, oldTags, newTags = true, nil, next.Tags
			return in.Ledger.SaveCustomer(ctx, &next)
		case err != nil:
			return err
		}
		oldTags = slices.Clone(cur.Tags)
		was, wasEmail, wasLINE := cur.Consent, cur.Email, cur.LINEUserID
		mergeProfile(cur, c)
		noteImportedConsent(cur, was, wasEmail != cur.Email || wasLINE != cur.LINEUserID, now)
		in.schedule(cur, now)
		created, newTags = false, cur.Tags
		return in.Ledger.SaveCustomer(ctx, cur)
	})
	if err == nil && !slices.Equal(oldTags, newTags) {
		// The tag index after the customer: a tag audience then checks each
		// customer's own tags, so a crash in between is caught by the next import.
		err = in.Ledger.SetTags(ctx, c.ID, oldTags, newTags)
	}
	if err == nil && in.Referrals != nil {
		// Every customer has a code to share; a re-import draws none anew.
		_, err = in.Referrals.Ensure(ctx, c.ID)
	}
	if err != nil {
		return false, fmt.Errorf("import customer %s: %w", c.ID, err)
	}
	return created, nil
}

// noteImportedConsent records the consent an import gave or withdrew on
// each channel with a contact point: all of it for a new customer or a new
// address (all), else what changed.
func noteImportedConsent(c *customer.Customer, was customer.Consent, all bool, now time.Time) {
	if c.Email != "" && (all || was.Email != c.Consent.Email) {
		c.NoteConsent(customer.Email, now, customer.ByCSVImport, "import")
	}
	if c.LINEUserID != "" && (all || was.LINE != c.Consent.LINE) {
		c.NoteConsent(customer.LINE, now, customer.ByCSVImport, "import")
	}
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
