# The builder AMI: the machine image the metal build host boots from, so that a build does
# not spend its first minutes (at about $4/hour) installing tools. See docs/packer.md.
#
# This file must stay valid for Debian's Packer 1.6.6, which CI runs
# (`packer validate packer/builder.pkr.hcl`): no `packer {}` block here (it lives in
# plugins.pkr.hcl, read only by current Packer when given the folder), no regex()/can(),
# no options added to amazon-ebs after 1.6.6 (metadata_options, imds_support).
#
# The tools are installed by the runner itself (`runner.sh --install-tools`), the same code
# that installs whatever is missing when a build host boots without this AMI, so the AMI
# and a plain Ubuntu boot cannot drift apart.

variable "region" {
  type        = string
  default     = "us-east-1"
  description = "Region the AMI is built in (and registered in)."
  validation {
    # regex_replace is the only regular-expression function Packer 1.6.6 has.
    condition     = regex_replace(var.region, "^[a-z]{2}(-[a-z]+)+-[0-9]$", "") == ""
    error_message = "The region must be an AWS region name such as us-east-1."
  }
}

variable "instance_type" {
  type        = string
  default     = "c5.large"
  description = "Instance type of the temporary build instance (it only installs packages)."
  validation {
    condition     = regex_replace(var.instance_type, "^[a-z][a-z0-9-]*\\.[a-z0-9]+$", "") == ""
    error_message = "The instance_type must be an EC2 instance type such as c5.large."
  }
}

variable "volume_size_gb" {
  type        = number
  default     = 20
  description = "Root volume of the AMI; the launch template grows it to the build size (500 GB)."
  validation {
    condition     = var.volume_size_gb >= 10 && var.volume_size_gb <= 100
    error_message = "The volume_size_gb must be between 10 and 100 (the build disk is sized by the launch template)."
  }
}

variable "ami_name_prefix" {
  type        = string
  default     = "labapp-metal-builder"
  description = "AMI names are <prefix>-<UTC timestamp>."
  validation {
    condition     = regex_replace(var.ami_name_prefix, "^[a-zA-Z0-9][a-zA-Z0-9._-]{2,100}$", "") == ""
    error_message = "The ami_name_prefix must be 3 to 101 letters, digits, dots, dashes or underscores."
  }
}

variable "packer_version" {
  type        = string
  default     = "1.11.2"
  description = "Packer installed in the image; keep equal to PACKER_VERSION in runner.sh (a test checks)."
  validation {
    condition     = regex_replace(var.packer_version, "^[0-9]+\\.[0-9]+\\.[0-9]+$", "") == ""
    error_message = "The packer_version must be a release number such as 1.11.2."
  }
}

variable "qemu_plugin_version" {
  type        = string
  default     = "1.1.0"
  description = "Packer QEMU plugin preinstalled for root, so `packer init` on the build host finds it."
  validation {
    condition     = regex_replace(var.qemu_plugin_version, "^[0-9]+\\.[0-9]+\\.[0-9]+$", "") == ""
    error_message = "The qemu_plugin_version must be a release number such as 1.1.0."
  }
}

variable "subnet_id" {
  type        = string
  default     = ""
  description = "Subnet for the temporary build instance; empty means the default VPC."
}

locals {
  # 20240131T120000 style: sortable, and legal in an AMI name.
  timestamp = regex_replace(timestamp(), "[-:]|\\..*|Z$", "")
}

source "amazon-ebs" "builder" {
  region        = var.region
  instance_type = var.instance_type
  subnet_id     = var.subnet_id
  ssh_username  = "ubuntu"

  source_ami_filter {
    filters = {
      name                = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"
      root-device-type    = "ebs"
      virtualization-type = "hvm"
    }
    # Canonical's account: only its official Ubuntu images match.
    owners      = ["099720109477"]
    most_recent = true
  }

  # gp3 with its baseline figures: Packer 1.6.6 rejects a gp3 mapping without them.
  launch_block_device_mappings {
    device_name           = "/dev/sda1"
    volume_size           = var.volume_size_gb
    volume_type           = "gp3"
    iops                  = 3000
    throughput            = 125
    delete_on_termination = true
  }

  ami_name        = "${var.ami_name_prefix}-${local.timestamp}"
  ami_description = "labapp metal-build host: QEMU/KVM, Packer ${var.packer_version}, AWS CLI v2, git, jq"
  ena_support     = true
  encrypt_boot    = true

  tags = {
    Project       = "labapp"
    Purpose       = "metal-build-builder"
    PackerVersion = var.packer_version
    Name          = "${var.ami_name_prefix}-${local.timestamp}"
  }
  snapshot_tags = {
    Project = "labapp"
    Purpose = "metal-build-builder"
  }
  run_tags = {
    Project = "labapp"
    Purpose = "metal-build-builder-image"
  }
}

build {
  sources = ["source.amazon-ebs.builder"]

  # Ubuntu's first boot runs apt itself; wait so our apt calls do not race it.
  provisioner "shell" {
    inline = ["cloud-init status --wait || true"]
  }

  # The runner's own installer: apt packages, AWS CLI v2, the pinned Packer, the QEMU plugin.
  provisioner "shell" {
    script = "${path.root}/runner.sh"
    environment_vars = [
      "PACKER_VERSION=${var.packer_version}",
      "QEMU_PLUGIN_VERSION=${var.qemu_plugin_version}",
    ]
    execute_command = "chmod +x {{ .Path }}; sudo env {{ .Vars }} HOME=/root bash {{ .Path }} --install-tools"
  }

  # Extras the runner does not need at boot but an operator debugging a build host wants.
  provisioner "shell" {
    inline = [
      "sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends libvirt-daemon-system libvirt-clients",
      "curl -fsSL -o /tmp/amazon-cloudwatch-agent.deb https://amazoncloudwatch-agent.s3.amazonaws.com/ubuntu/amd64/latest/amazon-cloudwatch-agent.deb",
      "sudo dpkg -i /tmp/amazon-cloudwatch-agent.deb",
      "rm -f /tmp/amazon-cloudwatch-agent.deb",
      # A build host must not spend its first minutes on unattended upgrades holding the apt lock.
      "sudo systemctl disable --now unattended-upgrades.service apt-daily.timer apt-daily-upgrade.timer",
      "sudo apt-get clean",
      "sudo cloud-init clean --logs",
    ]
  }

  post-processor "manifest" {
    output     = "builder-manifest.json"
    strip_path = true
    custom_data = {
      packer_version      = var.packer_version
      qemu_plugin_version = var.qemu_plugin_version
    }
  }
}
