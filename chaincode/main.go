// Command fedlora-cc runs the fedlora consortium contract.
//
// With CHAINCODE_SERVER_ADDRESS and CORE_CHAINCODE_ID_NAME set it serves as
// chaincode-as-a-service (the peer dials it); otherwise it dials the peer.
package main

import (
	"log"

	"fedlora/chaincode/contract"
)

func main() {
	cc, err := contract.NewChaincode()
	if err != nil {
		log.Fatal(err)
	}
	if err := cc.Start(); err != nil {
		log.Fatalf("failed to start the %s chaincode: %v", contract.Name, err)
	}
}
