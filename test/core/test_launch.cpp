// torchrun's environment: a recipe runs as one rank when WORLD_SIZE is set, alone otherwise, and
// a missing or malformed variable is a usage error naming it.
#include <fgreid/dist/launch.hpp>
#include <fgreid/error.hpp>

#include <doctest/doctest.h>

#include <map>
#include <string>

namespace {

using Variables = std::map<std::string, std::string>;

fgreid::dist::Environment from(Variables variables) {
  return [variables = std::move(variables)](const std::string& name) -> std::optional<std::string> {
    const auto found = variables.find(name);
    if (found == variables.end()) return std::nullopt;
    return found->second;
  };
}

Variables two_nodes_rank_three() {
  return {{"RANK", "3"},        {"LOCAL_RANK", "1"},        {"WORLD_SIZE", "4"},
          {"LOCAL_WORLD_SIZE", "2"}, {"MASTER_ADDR", "10.0.0.7"}, {"MASTER_PORT", "29500"}};
}

std::string refusal(Variables variables) {
  try {
    (void)fgreid::dist::launch_from(from(std::move(variables)));
  } catch (const fgreid::UsageError& error) {
    return error.what();
  }
  return "";
}

}  // namespace

TEST_CASE("launch: torchrun's variables, or a process on its own") {
  CHECK_FALSE(fgreid::dist::launch_from(from({})).has_value());
  CHECK_FALSE(fgreid::dist::launch_from(from({{"RANK", "0"}})).has_value());  // WORLD_SIZE decides

  auto variables = two_nodes_rank_three();
  variables["TORCHELASTIC_USE_AGENT_STORE"] = "True";
  variables["TORCHELASTIC_RESTART_COUNT"] = "2";
  const auto launch = fgreid::dist::launch_from(from(variables));
  REQUIRE(launch.has_value());
  CHECK(launch->rank == 3);
  CHECK(launch->local_rank == 1);
  CHECK(launch->world_size == 4);
  CHECK(launch->local_world_size == 2);
  CHECK(launch->master_addr == "10.0.0.7");
  CHECK(launch->master_port == 29500);
  CHECK(launch->agent_hosts_store);
  CHECK(launch->restart == 2);
  CHECK_FALSE(fgreid::dist::launch_from(from(two_nodes_rank_three()))->agent_hosts_store);
}

TEST_CASE("launch: a missing or malformed variable is named") {
  auto without = [](const std::string& name) {
    auto variables = two_nodes_rank_three();
    variables.erase(name);
    return variables;
  };
  auto with = [](const std::string& name, const std::string& value) {
    auto variables = two_nodes_rank_three();
    variables[name] = value;
    return variables;
  };
  for (const std::string name : {"RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_PORT", "MASTER_ADDR"})
    CHECK(refusal(without(name)).starts_with(name + " is not set"));
  CHECK(refusal(with("RANK", "4")) == "RANK=4: must be a whole number from 0 to 3");
  CHECK(refusal(with("RANK", "-1")) == "RANK=-1: must be a whole number from 0 to 3");
  CHECK(refusal(with("WORLD_SIZE", "two")).starts_with("WORLD_SIZE=two: must be a whole number"));
  CHECK(refusal(with("LOCAL_RANK", "2")) == "LOCAL_RANK=2: must be a whole number from 0 to 1");
  CHECK(refusal(with("LOCAL_WORLD_SIZE", "5")) == "LOCAL_WORLD_SIZE=5: must be a whole number from 1 to 4");
  CHECK(refusal(with("MASTER_PORT", "70000")) == "MASTER_PORT=70000: must be a whole number from 1 to 65535");
  CHECK(refusal(with("MASTER_PORT", "29500x")).starts_with("MASTER_PORT=29500x"));
  CHECK(refusal(with("MASTER_ADDR", "")).starts_with("MASTER_ADDR is not set"));
}
