package campaigns

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/daifuku/daifuku/shared/domain/campaign"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/message"
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
	LINE  int // the audience's customers who would hear by LINE (-1: not counted)
	// Ledger is the ledger's size when that alone shows the campaign fits.
	Ledger int
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

// quotaPlan sets aside what is left of the month's LINE quota for a
// stage's audience, highest ranks first: nil when it all fits, or the quota
// could not be read (which stops nothing: a refusal later pauses LINE as
// before). Otherwise the allowance per rank the shards keep to: a rank that
// fits whole is not named, the rank at the boundary gets what is left, and
// the ranks below get nothing. The audience is counted only when the quota
// left is smaller than the whole ledger. It counts every customer whose
// channel would be LINE, held out or capped or not: it errs on the side of
// the quota.
func (r *Runner) quotaPlan(ctx context.Context, c campaign.Campaign, first []campaign.Shard, w Wave, now time.Time) (*QuotaFit, map[string]int, error) {
	if r.Quotas == nil || !r.HasLINE {
		return nil, nil, nil
	}
	q, err := r.Quotas.Quota(ctx)
	if err != nil {
		r.Logger().WarnContext(ctx, "LINE quota not read: the campaign goes on without it", "campaign", c.ID, "error", err)
		return nil, nil, nil
	}
	fit := &QuotaFit{Quota: q, WhenShort: r.Policy.LINEQuota, Resets: delivery.QuotaResets(now), LINE: -1}
	if !q.Limited {
		return fit, nil, nil
	}
	if n, err := r.Ledger.CustomerCount(ctx); err == nil && int64(n) <= q.Left() {
		fit.Ledger = n
		return fit, nil, nil // fits, whoever of the ledger hears by LINE
	}
	byRank, err := r.countLINE(ctx, c, first, w)
	if err != nil {
		return nil, nil, err
	}
	ranks := make([]string, 0, len(byRank))
	fit.LINE = 0
	for rk, n := range byRank {
		ranks = append(ranks, rk)
		fit.LINE += n
	}
	if q.Fits(fit.LINE) {
		return fit, nil, nil
	}
	slices.SortStableFunc(ranks, func(a, b string) int {
		if d := r.Rules.Direction(rank.Parse(a), rank.Parse(b)); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	allowance := map[string]int{}
	left := int(q.Left())
	for _, rk := range ranks {
		n := byRank[rk]
		switch {
		case r.Policy.LINEQuota == delivery.NextMonth:
			allowance[rk] = 0
		case n > left:
			allowance[rk] = max(0, left)
		}
		left -= n
	}
	fit.Over = fit.LINE - max(0, min(fit.LINE, int(q.Left())))
	if r.Policy.LINEQuota == delivery.NextMonth {
		fit.Over = fit.LINE
	}
	return fit, allowance, nil
}

// countLINE counts a stage's customers who would hear by LINE, by rank,
// page by page: never the whole audience in memory.
func (r *Runner) countLINE(ctx context.Context, c campaign.Campaign, first []campaign.Shard, w Wave) (map[string]int, error) {
	byRank := map[string]int{}
	for _, sh := range first {
		for {
			cs, last, more, _, err := r.Ledger.AudiencePage(ctx, sh, r.shardSize(), "")
			if err != nil {
				return nil, err
			}
			for _, cust := range r.members(c, sh, w, cs) {
				if stop, _ := r.Policy.Topics.Stops(cust, message.Newsletter); stop {
					continue // never sent, so never counted against the quota
				}
				if ch, _ := delivery.Choose(cust, "", r.available(c.TemplateFor(rank.Parse(cust.Rank)))); ch == customer.LINE {
					byRank[cust.Rank]++
				}
			}
			if !more {
				break
			}
			sh = sh.Next(last)
		}
	}
	return byRank, nil
}

// QuotaFit says whether a campaign's LINE messages would fit in what is
// left of this month's quota, for those who start it (the CLI, the studio).
func (r *Runner) QuotaFit(ctx context.Context, c campaign.Campaign, now time.Time) (*QuotaFit, error) {
	if r.Quotas == nil || !r.HasLINE {
		return nil, nil
	}
	q, err := r.Quotas.Quota(ctx)
	if err != nil {
		r.Logger().WarnContext(ctx, "LINE quota not read", "campaign", c.ID, "error", err)
		return nil, nil
	}
	first, err := r.firstShards(ctx, c, campaign.StageMain)
	if err != nil {
		return nil, err
	}
	byRank, err := r.countLINE(ctx, c, first, "")
	if err != nil {
		return nil, err
	}
	fit := &QuotaFit{Quota: q, WhenShort: r.Policy.LINEQuota, Resets: delivery.QuotaResets(now)}
	for _, n := range byRank {
		fit.LINE += n
	}
	if !q.Fits(fit.LINE) {
		fit.Over = fit.LINE - int(max(0, q.Left()))
		if r.Policy.LINEQuota == delivery.NextMonth {
			fit.Over = fit.LINE
		}
	}
	return fit, nil
}

// String says it in a line, for those who start a campaign.
func (f *QuotaFit) String() string {
	if !f.Quota.Limited {
		return "LINE quota: none this month"
	}
	s := fmt.Sprintf("LINE quota: %d of %d used this month, %d left; this campaign: %d by LINE", f.Quota.Used, f.Quota.Limit, f.Quota.Left(), f.LINE)
	if f.LINE < 0 {
		return fmt.Sprintf("LINE quota: %d of %d used this month, %d left; the whole ledger (%d customers) fits", f.Quota.Used, f.Quota.Limit, f.Quota.Left(), f.Ledger)
	}
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
