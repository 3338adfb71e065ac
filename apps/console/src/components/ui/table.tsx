/** Tables in the overview's style: a white bordered box, small uppercase headers, hairline rows. */
export const thClass = "px-3 py-2.5 text-left text-xs font-medium uppercase tracking-wide text-slate-500 whitespace-nowrap";
export const tdClass = "px-3 py-2 align-middle";

/** `bare`: without the box, for a table inside a Card. */
export function Table({ children, className = "", bare = false, ...rest }: { children: React.ReactNode; className?: string; bare?: boolean } & React.TableHTMLAttributes<HTMLTableElement>) {
  return (
    <div className={bare ? "overflow-x-auto" : "overflow-x-auto rounded-xl border border-slate-200 bg-white"}>
      <table className={`w-full text-sm ${className}`} {...rest}>
        {children}
      </table>
    </div>
  );
}

export function EmptyRow({ colSpan, children }: { colSpan: number; children: React.ReactNode }) {
  return (
    <tr>
      <td colSpan={colSpan} className="px-3 py-8 text-center text-sm text-slate-500">
        {children}
      </td>
    </tr>
  );
}
