package local

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"text/tabwriter"

	"github.com/daifuku/daifuku/shared/importer"
	"github.com/daifuku/daifuku/shared/message"
)

// Summary is what a run did.
type Summary struct {
	CustomersCreated, CustomersUpdated int
	Orders, DuplicateOrders            int
	Queued                             int
	// Messages counts this run's messages by rank, channel and status.
	Messages map[[3]string]int
}

// ImportCustomers loads a customers CSV into the ledger.
func (e *Env) ImportCustomers(ctx context.Context, path string, s *Summary) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	cs, err := importer.Customers(f, e.Intake.Now())
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, c := range cs {
		created, err := e.Intake.ImportCustomer(ctx, e.Store, c)
		if err != nil {
			return err
		}
		if created {
			s.CustomersCreated++
		} else {
			s.CustomersUpdated++
		}
	}
	return nil
}

// ImportOrders feeds an orders CSV through the order flow, as the shop's
// checkout would, and returns the thank-you keys it queued.
func (e *Env) ImportOrders(ctx context.Context, path string, s *Summary) ([]message.Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	orders, err := importer.Orders(f, e.Intake.Now())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// Oldest first, so aggregates and rank changes happen in the order they did.
	sort.SliceStable(orders, func(i, j int) bool { return orders[i].OrderedAt.Before(orders[j].OrderedAt) })
	var keys []message.Key
	for _, o := range orders {
		res, err := e.Intake.RecordOrder(ctx, o)
		if err != nil {
			return nil, err
		}
		if res.Duplicate {
			s.DuplicateOrders++
		} else {
			s.Orders++
		}
		if res.ThankYou != "" {
			keys = append(keys, message.Key(res.ThankYou))
		}
	}
	return keys, nil
}

// Run is the main local job: import the seed ledger in dir (customers.csv,
// orders.csv), send every message it queued, and count what happened.
func (e *Env) Run(ctx context.Context, dir string) (*Summary, error) {
	s := &Summary{Messages: map[[3]string]int{}}
	if err := e.ImportCustomers(ctx, filepath.Join(dir, "customers.csv"), s); err != nil {
		return nil, err
	}
	keys, err := e.ImportOrders(ctx, filepath.Join(dir, "orders.csv"), s)
	if err != nil {
		return nil, err
	}
	s.Queued = e.Queue.Len()
	if err := e.SendQueued(ctx); err != nil {
		return nil, err
	}
	for _, k := range keys {
		rec, err := e.Store.Message(ctx, k)
		if err != nil {
			return nil, err
		}
		ch := string(rec.Channel)
		if ch == "" {
			ch = "-"
		}
		s.Messages[[3]string{rec.Rank, ch, string(rec.Status)}]++
	}
	return s, nil
}

// Print writes the summary for people.
func (s *Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "ledger: %d customers added, %d updated; %d orders recorded, %d already recorded\n",
		s.CustomersCreated, s.CustomersUpdated, s.Orders, s.DuplicateOrders)
	if len(s.Messages) == 0 {
		fmt.Fprintln(w, "messages: none new this run (every order was thanked before)")
		return
	}
	keys := make([][3]string, 0, len(s.Messages))
	for k := range s.Messages {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		return a[0]+a[1]+a[2] < b[0]+b[1]+b[2]
	})
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RANK\tCHANNEL\tSTATUS\tMESSAGES")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", k[0], k[1], k[2], s.Messages[k])
	}
	tw.Flush()
}
