// Command api is the HTTP API function (API Gateway HTTP API, payload v2):
// orders, unsubscribe links, feedback forms, customer voice and the webhooks.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/daifuku/daifuku/shared/edge/app"
)

func main() {
	a, err := app.FromEnv(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	h, err := a.APIHandler(os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(httpadapter.NewV2(h).ProxyWithContext)
}
