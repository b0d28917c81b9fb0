# Read only by current Packer, when it is given the folder (`packer init packer/`,
# `packer build packer/`). Kept apart from builder.pkr.hcl because Packer 1.6.6, which CI
# uses to validate that file on its own, rejects `required_plugins`.
packer {
  required_version = ">= 1.10.0"
  required_plugins {
    amazon = {
      version = ">= 1.3.0"
      source  = "github.com/hashicorp/amazon"
    }
  }
}
