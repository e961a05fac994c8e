package campaigns

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/daifuku/daifuku/shared/domain/campaign"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/rank"
)

// Quotas reads LINE's monthly message quota and what it has used.
type Quotas interface {
	Quota(ctx context.Context) (delivery.Quota, error)
}

// QuotaFit is whether a campaign's LINE messages fit in what is left of the
// month's quota, and what is done when they do not.
type QuotaFit struct {
	Quota delivery.Quota
	LINE  int // the audience's customers who would hear by LINE
	// Over is how many of them do not fit (0: all fit).
	Over int
	// WhenShort is what happens to those (delivery.yaml line_quota).
	WhenShort delivery.WhenShort
	// Resets is when the held ones go.
	Resets time.Time
}

// available says whether a channel can carry a template: its provider is
// configured and the template has the channel's files.
func (r *Runner) available(tpl string) func(customer.Channel) bool {
	return func(ch customer.Channel) bool {
		if (ch == customer.LINE && !r.HasLINE) || (ch == customer.Email && !r.HasEmail) {
			return false
		}
		return r.Templates.HasIn(tpl, ch)
	}
}

// lineBudget sets aside what is left of the month's LINE quota for the
// audience, highest ranks first, and says who does not fit (nil: all fit,
// or the quota could not be read, which stops nothing: a refusal later
// pauses LINE as before). It counts every customer whose channel would be
// LINE, held out or capped or not: it errs on the side of the quota.
func (r *Runner) lineBudget(ctx context.Context, c campaign.Campaign, audience []*customer.Customer, now time.Time) (map[string]bool, *QuotaFit) {
	if r.Quotas == nil || !r.HasLINE {
		return nil, nil
	}
	q, err := r.Quotas.Quota(ctx)
	if err != nil {
		r.Logger().WarnContext(ctx, "LINE quota not read: the campaign goes on without it", "campaign", c.ID, "error", err)
		return nil, nil
	}
	byRank := slices.Clone(audience)
	slices.SortStableFunc(byRank, func(a, b *customer.Customer) int {
		return r.Rules.Direction(rank.Parse(a.Rank), rank.Parse(b.Rank))
	})
	var line []string
	for _, cust := range byRank {
		if ch, _ := delivery.Choose(cust, "", r.available(c.TemplateFor(rank.Parse(cust.Rank)))); ch == customer.LINE {
			line = append(line, cust.ID)
		}
	}
	fit := &QuotaFit{Quota: q, LINE: len(line), WhenShort: r.Policy.LINEQuota, Resets: delivery.QuotaResets(now)}
	if q.Fits(len(line)) {
		return nil, fit
	}
	over := map[string]bool{}
	for i, id := range line {
		if r.Policy.LINEQuota == delivery.NextMonth || int64(i) >= q.Left() {
			over[id] = true
		}
	}
	fit.Over = len(over)
	return over, fit
}

// QuotaFit says whether a campaign's LINE messages would fit in what is
// left of this month's quota, for those who start it (the CLI, the studio).
func (r *Runner) QuotaFit(ctx context.Context, c campaign.Campaign, now time.Time) (*QuotaFit, error) {
	audience, err := r.audience(ctx, c, &Report{})
	if err != nil {
		return nil, err
	}
	_, fit := r.lineBudget(ctx, c, audience, now)
	return fit, nil
}

// String says it in a line, for those who start a campaign.
func (f *QuotaFit) String() string {
	if !f.Quota.Limited {
		return fmt.Sprintf("LINE quota: none this month; %d by LINE", f.LINE)
	}
	s := fmt.Sprintf("LINE quota: %d of %d used this month, %d left; this campaign: %d by LINE", f.Quota.Used, f.Quota.Limit, f.Quota.Left(), f.LINE)
	if f.Over == 0 {
		return s + ": fits"
	}
	what := map[delivery.WhenShort]string{
		delivery.ByEmail:   "the highest ranks first; the rest by email where they agreed to it, else held",
		delivery.ByRank:    "the highest ranks first; the rest held",
		delivery.NextMonth: "all of them held",
	}[f.WhenShort]
	return fmt.Sprintf("%s: does not fit, %d over (line_quota: %s: %s until %s)", s, f.Over, f.WhenShort, what, f.Resets.Format("2006-01-02 15:04 MST"))
}
