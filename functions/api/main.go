// Command api is the HTTP API function (API Gateway HTTP API, payload v2).
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/daifuku/daifuku/shared/api"
	"github.com/daifuku/daifuku/shared/app"
)

func main() {
	a, err := app.FromEnv(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	h := api.New(a.Intake, api.Options{
		OrdersToken: os.Getenv("ORDERS_API_TOKEN"),
		Unsubscribe: a.Sender.Unsubscribe, OptOuts: a.Intake,
	})
	lambda.Start(httpadapter.NewV2(h).ProxyWithContext)
}
