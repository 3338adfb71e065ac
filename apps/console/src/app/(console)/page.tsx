import { OverviewView } from "./overview";

export default function OverviewPage() {
  return <OverviewView />;
}
