package customer

import (
	"errors"
	"fmt"
	"time"
)

// Order is one purchase, as the shop reports it.
type Order struct {
	ID         string    `json:"order_id" dynamodbav:"order_id"`
	CustomerID string    `json:"customer_id" dynamodbav:"customer_id"`
	Total      int64     `json:"total" dynamodbav:"total"` // yen, tax included
	Items      []Item    `json:"items,omitempty" dynamodbav:"items,omitempty"`
	OrderedAt  time.Time `json:"ordered_at" dynamodbav:"ordered_at"`
	// Contact details let an order for an unknown customer create them.
	Contact Contact `json:"customer,omitzero" dynamodbav:"-"`
}

// Item is one line of an order.
type Item struct {
	SKU      string `json:"sku,omitempty" dynamodbav:"sku,omitempty"`
	Name     string `json:"name" dynamodbav:"name"`
	Quantity int    `json:"quantity" dynamodbav:"quantity"`
	Price    int64  `json:"price" dynamodbav:"price"` // yen per unit
}

// Contact is what an order may tell us about its buyer.
type Contact struct {
	Name             string  `json:"name,omitempty"`
	Email            string  `json:"email,omitempty"`
	LINEUserID       string  `json:"line_user_id,omitempty"`
	PreferredChannel Channel `json:"preferred_channel,omitempty"`
	EmailConsent     *bool   `json:"email_consent,omitempty"`
	LINEConsent      *bool   `json:"line_consent,omitempty"`
	Birthday         string  `json:"birthday,omitempty"`
	Timezone         string  `json:"timezone,omitempty"`
}

// Validate reports what makes an order unusable.
func (o Order) Validate() error {
	switch {
	case o.ID == "":
		return errors.New("order: order_id is required")
	case o.CustomerID == "":
		return fmt.Errorf("order %s: customer_id is required", o.ID)
	case o.Total < 0:
		return fmt.Errorf("order %s: total must not be negative", o.ID)
	case o.OrderedAt.IsZero():
		return fmt.Errorf("order %s: ordered_at is required (RFC 3339)", o.ID)
	case len(o.ID) > 128 || len(o.CustomerID) > 128:
		return fmt.Errorf("order %s: ids are at most 128 characters", o.ID)
	}
	for i, it := range o.Items {
		if it.Quantity < 0 || it.Price < 0 {
			return fmt.Errorf("order %s: item %d: quantity and price must not be negative", o.ID, i+1)
		}
	}
	return nil
}
