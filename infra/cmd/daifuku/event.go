package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/daifuku/daifuku/infra/local"
	contentpkg "github.com/daifuku/daifuku/shared/adapters/content"
	"github.com/daifuku/daifuku/shared/domain/campaign"
	"github.com/daifuku/daifuku/shared/domain/event"
	"github.com/daifuku/daifuku/shared/flows/events"
)

// eventArgs is `daifuku event SUB …` as parsed: its own flags (they
// may follow the arguments, as in `event attend tea --csv came.csv`).
type eventArgs struct {
	sub  string
	args []string
	ev   event.Event
	// early: -early-ranks and -early-days as given ("" and -1: events.yaml's early_access).
	earlyRanks string
	earlyDays  int
	csv        string
}

var eventSubs = []string{"create", "list", "status", "attend"}

// parseEventArgs reads an event command's flags and arguments; dir and now
// are the common flags every command takes.
func parseEventArgs(args []string, dir, now *string) (*eventArgs, error) {
	if len(args) == 0 || !slices.Contains(eventSubs, args[0]) {
		return nil, fmt.Errorf("usage: daifuku event %s [flags]", strings.Join(eventSubs, "|"))
	}
	a := &eventArgs{sub: args[0]}
	fs := flag.NewFlagSet("event "+a.sub, flag.ContinueOnError)
	fs.StringVar(dir, "dir", *dir, "state folder")
	fs.StringVar(now, "now", *now, "act as if it were this time (RFC 3339)")
	fs.StringVar(&a.ev.ID, "id", "", "event id")
	fs.StringVar(&a.ev.Title, "title", "", "event title")
	fs.StringVar(&a.ev.Starts, "starts-at", "", `local start time in -zone, e.g. "2026-12-12 14:00"`)
	fs.StringVar(&a.ev.Zone, "zone", "", "IANA time zone, e.g. Asia/Tokyo")
	fs.StringVar(&a.ev.Place, "place", "", "where it is held")
	fs.StringVar(&a.ev.URL, "url", "", "its page, or the online venue")
	fs.IntVar(&a.ev.Capacity, "capacity", 0, "seats")
	fs.IntVar(&a.ev.InviteDays, "invite-days", 0, "days before the start the audience is invited (0: 14)")
	ranks := fs.String("ranks", "", "audience: rank ids, comma separated")
	tags := fs.String("tags", "", "audience: tags, comma separated")
	fs.StringVar(&a.earlyRanks, "early-ranks", "", "early access: rank ids (default: events.yaml's early_access)")
	fs.IntVar(&a.earlyDays, "early-days", -1, "early access: days before the rest (0: none; default: events.yaml's early_access)")
	fs.StringVar(&a.csv, "csv", "", "attend: a CSV file with a customer_id column")
	rest := args[1:]
	for {
		if err := fs.Parse(rest); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		a.args = append(a.args, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	a.ev.Audience = campaign.Audience{Ranks: list(*ranks), Tags: list(*tags)}
	return a, nil
}

// eventCommand runs `daifuku event …`.
func eventCommand(ctx context.Context, env *local.Env, content *contentpkg.Content, a *eventArgs) error {
	r := env.Events
	switch a.sub {
	case "create":
		e := a.ev
		if el := content.EventsEarly; el != nil {
			e.Early = &event.Early{Ranks: el.Ranks, Days: el.Days}
		}
		if a.earlyRanks != "" || a.earlyDays >= 0 {
			e.Early = &event.Early{Ranks: list(a.earlyRanks), Days: max(a.earlyDays, 0)}
			if a.earlyRanks == "" && content.EventsEarly != nil {
				e.Early.Ranks = content.EventsEarly.Ranks
			}
			if a.earlyDays < 0 && content.EventsEarly != nil {
				e.Early.Days = content.EventsEarly.Days
			}
		}
		if err := e.Validate(content.Known()); err != nil {
			return err
		}
		if _, err := r.Find(ctx, e.ID); err == nil {
			return fmt.Errorf("event %s exists already (events.yaml or created before)", e.ID)
		}
		if err := env.Store.CreateEvent(ctx, e); err != nil {
			return err
		}
		fmt.Printf("event %s: %s, %d seats; invitations from %s", e.ID, e.StartsAt().Format("2006-01-02 15:04 MST"), e.Capacity,
			e.InviteAt().Format("2006-01-02 15:04 MST"))
		if rk := e.EarlyRanks(); rk != nil {
			fmt.Printf(" (%s from %s)", strings.Join(rk, ", "), e.EarlyAt().Format("2006-01-02 15:04 MST"))
		}
		fmt.Println()
		return nil
	case "list":
		evs, err := r.All(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "EVENT\tSTARTS\tSEATS\tINVITED\tATTENDING\tWAITLISTED\tATTENDED\tTITLE")
		for _, e := range evs {
			st, err := r.Status(ctx, e.ID)
			if err != nil {
				return err
			}
			c := st.Counts
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", e.ID, e.StartsAt().Format("2006-01-02 15:04 MST"), e.Capacity,
				c.Invited, c.Attending, c.Waitlisted, c.Attended, e.Title)
		}
		return tw.Flush()
	case "status":
		if len(a.args) != 1 {
			return fmt.Errorf("usage: daifuku event status EVENT")
		}
		st, err := r.Status(ctx, a.args[0])
		if err != nil {
			return err
		}
		e, c := st.Event, st.Counts
		fmt.Printf("event %s: %s\n  starts %s (%s); %d seats\n", e.ID, e.Title, e.StartsAt().Format("2006-01-02 15:04"), e.Zone, e.Capacity)
		fmt.Printf("  invitations: %s", e.InviteAt().Format(time.RFC3339))
		if rk := e.EarlyRanks(); rk != nil {
			fmt.Printf(" (%s from %s)", strings.Join(rk, ", "), e.EarlyAt().Format(time.RFC3339))
		}
		fmt.Printf("\n  invited %d, attending %d, waitlisted %d, declined %d, attended %d\n",
			c.Invited, c.Attending, c.Waitlisted, c.Declined, c.Attended)
		return nil
	case "attend":
		if len(a.args) == 0 {
			return fmt.Errorf("usage: daifuku event attend EVENT CUSTOMER… | EVENT --csv FILE")
		}
		var who []events.Attendee
		for _, id := range a.args[1:] {
			who = append(who, events.Attendee{CustomerID: id})
		}
		if a.csv != "" {
			rows, err := readAttendance(a.csv)
			if err != nil {
				return err
			}
			who = append(who, rows...)
		}
		if len(who) == 0 {
			return fmt.Errorf("event attend %s: name the customers who came, or --csv FILE", a.args[0])
		}
		n, err := r.Attend(ctx, a.args[0], who)
		if err != nil {
			return err
		}
		fmt.Printf("event %s: %d attendances recorded (%d recorded before)\n", a.args[0], n, len(who)-n)
		return nil
	}
	return fmt.Errorf("unknown event command %q", a.sub)
}

// readAttendance reads a CSV with a customer_id column; rows are numbered
// as a spreadsheet shows them (the header is row 1).
func readAttendance(path string) ([]events.Attendee, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: no header row: %w", path, err)
	}
	col := -1
	for i, h := range head {
		if strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")) == "customer_id" {
			col = i
		}
	}
	if col < 0 {
		return nil, fmt.Errorf("%s: row 1: no customer_id column", path)
	}
	var out []events.Attendee
	for row := 2; ; row++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: row %d: %w (nothing recorded)", path, row, err)
		}
		id := ""
		if col < len(rec) {
			id = strings.TrimSpace(rec[col])
		}
		out = append(out, events.Attendee{CustomerID: id, Row: row})
	}
}
