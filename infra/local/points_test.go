package local_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/daifuku/daifuku/infra/local"
	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/points"
)

// An orders CSV whose row uses more points than the customer has is refused
// naming that row; the order is not recorded, and the rows before it are.
func TestImportRefusesTheRowThatUsesTooManyPoints(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	env := &local.Env{App: r.App, Queue: r.Queue}
	path := filepath.Join(t.TempDir(), "orders.csv")
	csv := "order_id,customer_id,ordered_at,item_name,quantity,price,points_used\n" +
		"O1,C1,2026-11-20,益子焼 マグカップ,1,10000,\n" + // earns 100
		"O2,C1,2026-11-21,急須,1,3000,50\n" +
		"O2,C1,2026-11-21,茶葉,1,2000,\n" +
		"O3,C1,2026-11-22,湯のみ,1,4000,200\n" // 200 > what is left
	if err := os.WriteFile(path, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := env.ImportOrders(context.Background(), path, local.NewSummary())
	if !errors.Is(err, points.ErrInsufficient) || !errors.Is(err, domain.ErrInvalid) || !strings.Contains(err.Error(), "line 5") ||
		!strings.Contains(err.Error(), "points_used 200") {
		t.Fatalf("error = %v, want the refusal naming line 5 and points_used", err)
	}
	if _, err := r.Store.Order(context.Background(), "O3"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("the refused order was recorded: %v", err)
	}
	c, err := r.Store.Customer(context.Background(), "C1")
	if err != nil || c.Points.Balance != 100-50+49 {
		t.Errorf("balance %d (%v), want 99: O1 earned 100, O2 used 50 and earned 49 on 4,950 yen", c.Points.Balance, err)
	}
}
