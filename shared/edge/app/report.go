package app

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/daifuku/daifuku/shared/domain/rank"
	"github.com/daifuku/daifuku/shared/domain/report"
	"github.com/daifuku/daifuku/shared/edge/reportpage"
)

// Report is a month's report ("2026-11"; "" for this month in Japan), read
// from its counters: one item per row, never a Scan.
func (a *App) Report(ctx context.Context, month string) (*report.Report, error) {
	if month == "" {
		month = report.Month(a.Now())
	}
	if _, err := time.Parse("2006-01", month); err != nil {
		return nil, fmt.Errorf("report month %q: want YYYY-MM", month)
	}
	counters, read, err := a.Store.ReportRows(ctx, month)
	if err != nil {
		return nil, err
	}
	return report.Build(month, counters, read)
}

// WriteReportPage writes a month's report as the owner's HTML page, in the
// words of the content the shop runs (rank labels, the plans' hypothesis).
func (a *App) WriteReportPage(ctx context.Context, w io.Writer, month string) (*report.Report, error) {
	rep, err := a.Report(ctx, month)
	if err != nil {
		return nil, err
	}
	c := a.Content
	p := reportpage.Page{Shop: c.Shop.Name, Report: rep, Generated: a.Now(),
		Label: func(r string) string { return c.Rules.Label(rank.Parse(r)) }}
	for _, r := range c.Rules.Ranks {
		p.Ranks = append(p.Ranks, r.ID, rank.Rank{ID: r.ID, Lapsed: true}.String())
	}
	if c.Plans != nil {
		p.Version, p.Hypothesis = c.Plans.Version, c.Plans.Hypothesis
		if !c.Plans.Started.IsZero() {
			p.Started = c.Plans.Started.String()
		}
	}
	return rep, reportpage.Write(w, p)
}
