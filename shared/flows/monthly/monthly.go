// Package monthly is the seed's "check after a month": on the 1st, the month
// that just ended is stored as the owner's report (the page and its JSON),
// and the owner gets a short summary of it by email, once.
package monthly

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/render"
	"github.com/daifuku/daifuku/shared/domain/report"
	"github.com/daifuku/daifuku/shared/flows/flow"
)

// Pages writes a month's report page and returns the report it shows.
type Pages interface {
	WriteReportPage(ctx context.Context, w io.Writer, month string) (*report.Report, error)
}

// Files keeps the stored reports; a Put under a key replaces what was there.
type Files interface {
	Put(ctx context.Context, key, contentType string, body []byte) error
}

// Claims say who may send a month's summary: email has no idempotency key,
// so a marker claimed before the send is what keeps a redelivered schedule
// event from mailing the owner twice.
type Claims interface {
	ClaimSummary(ctx context.Context, month string, at, takeOverBefore time.Time) (bool, error)
	SummarySent(ctx context.Context, month string, at time.Time, ambiguous bool) error
	ReleaseSummary(ctx context.Context, month string, claimedAt time.Time) error
}

// Mailer sends one email.
type Mailer interface {
	Send(ctx context.Context, env delivery.Envelope, msg *render.Email) (delivery.Receipt, error)
}

// ClaimTimeout is how long a claim holds before another run may take it
// over: longer than the schedule function's timeout (10 minutes), so the
// run that claimed it is gone.
const ClaimTimeout = 15 * time.Minute

// Reporter stores a month's report and tells the owner about it.
type Reporter struct {
	flow.Env
	Pages  Pages
	Files  Files // nil: nowhere to store reports (REPORTS_BUCKET unset)
	Claims Claims
	Mail   Mailer // nil: SendGrid is not configured
	// Owner is where the summary goes (OWNER_EMAIL); "": nowhere, said in the log.
	Owner string
	Shop  render.Shop
	// StudioURL is where the studio answers (its report at /report).
	StudioURL string
	// Label names a rank in the owner's words; nil: the rank's id.
	Label func(rank string) string
}

// The email's outcomes, as Result.Email says them.
const (
	Emailed     = "emailed"
	SentBefore  = "sent before"
	MaybeSent   = "maybe sent (the send timed out; not sent again)"
	NoOwner     = "not emailed: no OWNER_EMAIL"
	NoMailer    = "not emailed: SendGrid is not configured"
	htmlType    = "text/html; charset=utf-8"
	jsonType    = "application/json"
	reportsPath = "reports/"
)

// Result is what a run did.
type Result struct {
	Month      string
	Rows       int
	Highlights int
	Keys       []string // where the report was stored
	Email      string
}

// Keys are where a month's report is stored: its page and its JSON.
func Keys(month string) (page, data string) {
	return reportsPath + month + ".html", reportsPath + month + ".json"
}

// Run stores the report of month ("": the month before this one in Japan)
// and emails the owner its summary, unless that was done before. Storing
// again overwrites the same keys, so a redelivered event changes nothing.
func (r *Reporter) Run(ctx context.Context, month string) (*Result, error) {
	if month == "" {
		month = report.MonthBefore(r.Now())
	}
	if _, err := time.Parse("2006-01", month); err != nil {
		return nil, domain.Invalidf("report month %q: want YYYY-MM", month)
	}
	if r.Files == nil {
		return nil, errors.New("monthly report: nowhere to store it (set REPORTS_BUCKET)")
	}
	var page bytes.Buffer
	rep, err := r.Pages.WriteReportPage(ctx, &page, month)
	if err != nil {
		return nil, fmt.Errorf("monthly report %s: %w", month, err)
	}
	// The JSON is the scripts' format: the same encoding as `daifuku report -format json`.
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("monthly report %s: %w", month, err)
	}
	pageKey, dataKey := Keys(month)
	for _, f := range []struct {
		key, typ string
		body     []byte
	}{{pageKey, htmlType, page.Bytes()}, {dataKey, jsonType, append(data, '\n')}} {
		if err := r.Files.Put(ctx, f.key, f.typ, f.body); err != nil {
			return nil, fmt.Errorf("monthly report %s: %w", month, err)
		}
	}
	res := &Result{Month: month, Rows: len(rep.Rows), Highlights: len(report.Highlights(rep, 3)), Keys: []string{pageKey, dataKey}}
	if res.Email, err = r.email(ctx, rep); err != nil {
		return res, err
	}
	r.Logger().InfoContext(ctx, "monthly report stored", "month", month, "rows", res.Rows, "highlights", res.Highlights,
		"items_read", rep.ItemsRead, "email", res.Email)
	return res, nil
}

// email sends the summary once: claimed first, then sent, then marked.
func (r *Reporter) email(ctx context.Context, rep *report.Report) (string, error) {
	switch {
	case r.Owner == "":
		return NoOwner, nil
	case r.Mail == nil:
		return NoMailer, nil
	}
	now := r.Now()
	claimed, err := r.Claims.ClaimSummary(ctx, rep.Month, now, now.Add(-ClaimTimeout))
	if err != nil {
		return "", err
	}
	if !claimed {
		return SentBefore, nil
	}
	env := delivery.Envelope{FromEmail: r.Shop.FromEmail, FromName: "daifuku", ToEmail: r.Owner,
		Categories: []string{"monthly-report"}}
	_, err = r.Mail.Send(ctx, env, Summary(rep, r.Shop.Name, r.Link(rep.Month), r.Label))
	var failed *delivery.Failure
	switch {
	case err == nil:
		return Emailed, r.Claims.SummarySent(ctx, rep.Month, r.Now(), false)
	case errors.As(err, &failed) && failed.Ambiguous:
		// SendGrid may have it: a second copy is worse than a late look.
		r.Logger().WarnContext(ctx, "monthly summary send timed out; not sent again", "month", rep.Month, "error", err)
		return MaybeSent, r.Claims.SummarySent(ctx, rep.Month, r.Now(), true)
	}
	// Refused or never reached: give the claim back, so the scheduler's retry sends it.
	release := r.Claims.ReleaseSummary(context.WithoutCancel(ctx), rep.Month, now)
	return "", errors.Join(fmt.Errorf("email the %s summary: %w", rep.Month, err), release)
}

// Link is where the owner reads a month's report in the studio, or "":
// the studio's page, which signs the owner in (Cognito's redirect keeps
// nothing but the page) and then opens the report through its API.
func (r *Reporter) Link(month string) string {
	if r.StudioURL == "" {
		return ""
	}
	return strings.TrimRight(r.StudioURL, "/") + "?report=" + month
}
